package he

import (
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Party is one party's handle on a two-party threshold CKKS instance: the
// parameters, its own secret-key share (which no method returns or sends),
// and the collective public and evaluation keys. A Party is safe for
// concurrent use: every method makes its own lattigo worker objects.
type Party struct {
	params Params
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
	evk    *rlwe.MemEvaluationKeySet

	encoder   *ckks.Encoder
	encryptor *rlwe.Encryptor
	evaluator *ckks.Evaluator
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
