package he

import (
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// CombinePairs returns constant + sum_k re[k].a_k + im[k].b_k (elementwise)
// for encrypted SlotComplex vectors xs[k] = a_k + i*b_k of one length at one
// level and plaintext coefficient vectors of that length: encrypted scoring of
// tree ensembles, where the center packs two of its 0/1 path indicators per
// slot and the bank weighs them. One plaintext product per pair, one rescale
// and one conjugation: the result is a SlotReal vector one level below xs at
// the set's scale, whose imaginary parts hold nothing but noise (the
// cross terms a*s - b*r cancel). Needs KeySpec.Conjugate. constant may be nil.
func (p *Party) CombinePairs(xs []*Vector, re, im [][]float64, constant []float64) (*Vector, error) {
	return p.combineTerms(xs, SlotComplex, re, im, constant)
}

// AddPlain adds the plaintext values u to the SlotReal vector v in place.
// len(u) must be v.Len. The sum is exact up to the encoding's 2^-40 relative
// rounding of u.
func (p *Party) AddPlain(v *Vector, u []float64) error {
	if err := v.check(p.params); err != nil {
		return err
	}
	if v.Layout != SlotReal || len(u) != v.Len {
		return fmt.Errorf("%w: adding %d plaintext values to a %s vector of %d", ErrShape, len(u), v.Layout, v.Len)
	}
	per := p.params.Slots()
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		w := p.worker()
		for c := lo; c < hi; c++ {
			errs[c] = p.addPlainCt(w, v.Cts[c], u[c*per:min((c+1)*per, len(u))], nil)
		}
	})
	return joinErrs(errs)
}

// addPlainCt adds re + i*im (im may be nil) to ct, encoding at
// 2^encodeLogScale and lifting by an exact power of two to ct's scale, which
// must be 2^k with k >= encodeLogScale.
func (p *Party) addPlainCt(w worker, ct *rlwe.Ciphertext, re, im []float64) error {
	logScale := math.Log2(ct.Scale.Float64())
	lift := int(math.Round(logScale)) - encodeLogScale
	if lift < 0 || math.Abs(logScale-math.Round(logScale)) > 1e-9 {
		return fmt.Errorf("he: adding plaintext to a ciphertext at scale 2^%.3f (want a power of two >= 2^%d)", logScale, encodeLogScale)
	}
	pt := ckks.NewPlaintext(p.params.ckks, ct.Level())
	if err := w.encodeSlots(p.params, re, im, nil, math.Exp2(encodeLogScale), pt); err != nil {
		return err
	}
	liftPow2(p.params.ckks.RingQ().AtLevel(ct.Level()), pt.Value, lift)
	pt.Scale = ct.Scale
	return w.eval.Add(ct, pt, ct)
}
