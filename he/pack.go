package he

import (
	"errors"
	"fmt"
	"math/big"
	"runtime"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// pack is lattigo's Evaluator.Pack (core/rlwe/packing.go, v5.0.7) with
// zeroGarbageSlots set, the pairs of each round spread over the cores.
// Pack merges ciphertexts keyed by coefficient offset in log2(gap) rounds;
// round i pairs the ciphertexts at jx and jx + t (t = 2^(logGap-1-i'), i'
// counting from the first) and touches no other, so a round's pairs are
// independent: each worker runs lattigo's operations on its own pairs, in
// lattigo's order, with its own evaluator buffers, and the result is
// lattigo's to the bit (TestPackMatchesLattigo). A histogram level packs
// one or two vectors, so lattigo's Pack, sequential inside, left a core
// idle while it ran the level's longest step. Every key must lie in
// [0, 2^logGap); the ciphertexts are modified.
func (p *Party) pack(cts map[int]*rlwe.Ciphertext, logGap int) (*rlwe.Ciphertext, error) {
	params := p.params.ckks
	logN := params.LogN()
	if logGap < 1 || logGap > logN {
		return nil, fmt.Errorf("he: packing gap 2^%d outside 2^1..2^%d", logGap, logN)
	}
	if len(cts) < 2 {
		return nil, errors.New("he: packing needs at least two ciphertexts")
	}
	slots := make([]*rlwe.Ciphertext, 1<<logGap)
	level := -1
	for k, ct := range cts {
		if k < 0 || k >= len(slots) {
			return nil, fmt.Errorf("he: packing offset %d outside [0, %d)", k, len(slots))
		}
		if ct == nil || ct.Degree() != 1 {
			return nil, fmt.Errorf("he: packing offset %d holds no ciphertext of degree 1", k)
		}
		slots[k] = ct
		if level < 0 || ct.Level() < level {
			level = ct.Level()
		}
	}
	ringQ := params.RingQ().AtLevel(level)
	xPow2 := rlwe.GenXPow2(ringQ, logN, false)
	nInv := new(big.Int).SetUint64(uint64(1) << logGap)
	nInv.ModInverse(nInv, ringQ.ModulusAtLevel[level])
	keys := make([]int, 0, len(cts))
	for k := range slots {
		if slots[k] != nil {
			keys = append(keys, k)
		}
	}
	parallelFor(len(keys), func(lo, hi int) {
		for _, k := range keys[lo:hi] {
			ct := slots[k]
			if !ct.IsNTT {
				ringQ.NTT(ct.Value[0], ct.Value[0])
				ringQ.NTT(ct.Value[1], ct.Value[1])
				ct.IsNTT = true
			}
			ringQ.MulScalarBigint(ct.Value[0], nInv, ct.Value[0])
			ringQ.MulScalarBigint(ct.Value[1], nInv, ct.Value[1])
		}
	})
	// One evaluator and buffer per worker for all the rounds: a shallow
	// copy allocates its buffers, which cost as much as a round's work in
	// the last rounds, of one or two automorphisms.
	workers := runtime.GOMAXPROCS(0)
	evals := make([]*rlwe.Evaluator, workers)
	tmps := make([]*rlwe.Ciphertext, workers)
	for w := range workers {
		evals[w] = p.evaluator.Evaluator.ShallowCopy()
		tmps[w] = rlwe.NewCiphertext(params, 1, level)
		tmps[w].IsNTT = true
	}
	for i := logN - logGap; i < logN; i++ {
		t := 1 << (logN - 1 - i)
		galEl := ringQ.NthRoot() - 1 // the first round of a full packing
		if i > 0 {
			galEl = params.GaloisElement(1 << (i - 1))
		}
		x := xPow2[len(xPow2)-i-1]
		errs := make([]error, t)
		parallelWorkers(t, workers, func(w, lo, hi int) {
			eval, tmp := evals[w], tmps[w]
			for jx := lo; jx < hi; jx++ {
				a, b := slots[jx], slots[jx+t]
				if b != nil {
					ringQ.MulCoeffsMontgomery(b.Value[0], x, b.Value[0])
					ringQ.MulCoeffsMontgomery(b.Value[1], x, b.Value[1])
					if a != nil {
						ringQ.Sub(a.Value[0], b.Value[0], tmp.Value[0])
						ringQ.Sub(a.Value[1], b.Value[1], tmp.Value[1])
						ringQ.Add(a.Value[0], b.Value[0], a.Value[0])
						ringQ.Add(a.Value[1], b.Value[1], a.Value[1])
					} else {
						// Alone in its pair: doubled, as each round
						// doubles the values pre-scaled by 2^-logGap.
						slots[jx] = b
						ringQ.Add(b.Value[0], b.Value[0], b.Value[0])
						ringQ.Add(b.Value[1], b.Value[1], b.Value[1])
					}
				}
				if a == nil {
					continue
				}
				src := tmp
				if b == nil {
					src = a
				}
				if err := eval.Automorphism(src, galEl, tmp); err != nil {
					errs[jx] = err
					return
				}
				ringQ.Add(a.Value[0], tmp.Value[0], a.Value[0])
				ringQ.Add(a.Value[1], tmp.Value[1], a.Value[1])
			}
		})
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("he: packing round %d: %w", i, err)
		}
	}
	return slots[0], nil
}
