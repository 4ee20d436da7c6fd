package he

import (
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// MaskCoeffs adds independent uniform randomness modulo Q to every
// coefficient of a coefficient-encoded vector (Coeff or CoeffGrid) for which
// reveal(value index) is false, so a decryption reveals those values only
// as uniform noise while the revealed ones keep their precision. Coefficients
// that hold no value at all (padding, garbage of a kernel) are masked too.
// reveal is called once per value of v.
func (p *Party) MaskCoeffs(v *Vector, reveal func(i int) bool) error {
	if err := v.check(p.params); err != nil {
		return err
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return fmt.Errorf("%w: MaskCoeffs needs a coefficient layout, got %s (slot layouts are masked by the kernels that build them)", ErrLayout, v.Layout)
	}
	per := v.perCiphertext(p.params)
	prng, err := sampling.NewPRNG()
	if err != nil {
		return fmt.Errorf("he: mask randomness: %w", err)
	}
	for c, ct := range v.Cts {
		rq := p.params.ckks.RingQ().AtLevel(ct.Level())
		keep := make([]bool, p.params.N())
		for j := 0; j < per && c*per+j < v.Len; j++ {
			if reveal(c*per + j) {
				pos := j
				if v.Layout == CoeffGrid {
					pos = v.gridPos(c, j)
				}
				keep[pos] = true
			}
		}
		mask := rq.NewPoly()
		ring.NewUniformSampler(prng, rq).Read(mask)
		for i, k := range keep {
			if k {
				for l := range mask.Coeffs {
					mask.Coeffs[l][i] = 0
				}
			}
		}
		rq.NTT(mask, mask)
		rq.Add(ct.Value[0], mask, ct.Value[0])
	}
	return nil
}

// Rerandomize adds a fresh encryption of zero under the collective public
// key to every ciphertext of v, in place. A ciphertext computed from the
// peer's ciphertexts and this party's private plaintexts (a product with its
// binning polynomials, its weights, its blinding factors, or the sum with its
// own partial scores) is a deterministic function of them: the peer, who
// knows its own ciphertexts, could solve for the plaintexts from the result's
// components. Rerandomizing before the result leaves the party makes both
// components fresh RLWE samples; the decryption's noise flooding then hides
// the remaining noise. Call it before sending such a vector, or before
// computing a decryption share of it that goes out with it.
func (p *Party) Rerandomize(v *Vector) error {
	if err := v.check(p.params); err != nil {
		return err
	}
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		w := p.getWorker()
		defer p.putWorker(w)
		encr := w.encr
		for c := lo; c < hi; c++ {
			ct := v.Cts[c]
			zero := rlwe.NewCiphertext(p.params.ckks, 1, ct.Level())
			zero.IsNTT = ct.IsNTT
			if errs[c] = encr.EncryptZero(zero); errs[c] != nil {
				return
			}
			rq := p.params.ckks.RingQ().AtLevel(ct.Level())
			rq.Add(ct.Value[0], zero.Value[0], ct.Value[0])
			rq.Add(ct.Value[1], zero.Value[1], ct.Value[1])
		}
	})
	return joinErrs(errs)
}

// AddCoeffs adds plaintext values to a coefficient-encoded vector (Coeff or
// CoeffGrid) in place: value i of v becomes v_i + vals[i]. It is how a
// party adds its own noise to a result before a decryption (SecureBoost's
// differentially private histograms); vals is encoded at the set's scale.
func (p *Party) AddCoeffs(v *Vector, vals []float64) error {
	if err := v.check(p.params); err != nil {
		return err
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return fmt.Errorf("%w: AddCoeffs needs a coefficient layout, got %s", ErrLayout, v.Layout)
	}
	if len(vals) != v.Len {
		return fmt.Errorf("%w: %d values to add to a vector of %d", ErrShape, len(vals), v.Len)
	}
	per := v.perCiphertext(p.params)
	lift := int(p.params.set.LogScale - encodeLogScale)
	buf := make([]float64, p.params.N())
	for c, ct := range v.Cts {
		clear(buf)
		for j := 0; j < per && c*per+j < v.Len; j++ {
			pos := j
			if v.Layout == CoeffGrid {
				pos = v.gridPos(c, j)
			}
			buf[pos] = vals[c*per+j]
		}
		pt := rlwe.NewPlaintext(p.params.ckks, ct.Level())
		if err := (worker{}).encodeCoeffs(p.params, buf, math.Exp2(encodeLogScale), pt); err != nil {
			return err
		}
		rq := p.params.ckks.RingQ().AtLevel(ct.Level())
		liftPow2(rq, pt.Value, lift)
		if !ct.IsNTT {
			return fmt.Errorf("%w: ciphertext %d is not in the NTT domain", ErrLayout, c)
		}
		rq.Add(ct.Value[0], pt.Value, ct.Value[0])
	}
	return nil
}
