package he

import (
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Party is one party's handle on a two-party threshold CKKS instance: the
// parameters, its own secret-key share (which no method returns or sends),
// and the collective public and evaluation keys. A Party is safe for
// concurrent use: each goroutine of a method works on lattigo worker
// objects of its own, new or taken from the party's pool of idle ones.
type Party struct {
	params Params
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
	evk    *rlwe.MemEvaluationKeySet

	encoder   *ckks.Encoder
	encryptor *rlwe.Encryptor
	evaluator *ckks.Evaluator

	// workers keeps idle workers between calls: a Shared15 evaluator's
	// scratch buffers are tens of MiB, and allocating and zeroing them per
	// call and goroutine was a measurable share of a vertical LR epoch.
	workers sync.Pool // of *worker
}

func newParty(params Params, sk *rlwe.SecretKey, pk *rlwe.PublicKey, evk *rlwe.MemEvaluationKeySet) *Party {
	return &Party{
		params:    params,
		sk:        sk,
		pk:        pk,
		evk:       evk,
		encoder:   ckks.NewEncoder(params.ckks),
		encryptor: rlwe.NewEncryptor(params.ckks, pk),
		evaluator: ckks.NewEvaluator(params.ckks, evk),
	}
}

// Params returns the parameters of the instance.
func (p *Party) Params() Params { return p.params }

// worker holds one goroutine's lattigo objects: lattigo v5's encoders,
// encryptors and evaluators are not safe for concurrent use, so each
// goroutine works on shallow copies of its own.
type worker struct {
	enc  *ckks.Encoder
	encr *rlwe.Encryptor
	eval *ckks.Evaluator
	cbuf []complex128
	dot  *dotAcc // fused products' accumulator, allocated on first use
}

func (p *Party) worker() worker {
	return worker{
		enc:  p.encoder.ShallowCopy(),
		encr: p.encryptor.ShallowCopy(),
		eval: p.evaluator.ShallowCopy(),
		cbuf: make([]complex128, p.params.Slots()),
	}
}

// hasGalois reports whether the collective key set holds the Galois element.
func (p *Party) hasGalois(el uint64) bool {
	_, err := p.evk.GetGaloisKey(el)
	return err == nil
}

// getWorker returns a worker for one goroutine from the party's pool (a new
// one when none is idle); putWorker hands it back once the goroutine is
// done with it and with every buffer it lent.
func (p *Party) getWorker() *worker {
	if w, ok := p.workers.Get().(*worker); ok {
		return w
	}
	w := p.worker()
	return &w
}

func (p *Party) putWorker(w *worker) { p.workers.Put(w) }

// dotAcc returns the worker's accumulator for sums of products over the
// given number of primes.
func (w *worker) dotAcc(p Params, primes int) *dotAcc {
	if w.dot == nil || len(w.dot.hi[0]) < p.N()*primes {
		w.dot = newDotAcc(p.N(), primes)
	}
	return w.dot
}
