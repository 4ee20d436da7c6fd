package he

import (
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Fast encoding. lattigo's encoder quantizes through a per-coefficient
// routine that allocates (ring.BRedConstants) and dominates the cost of
// preparing matrices and encoding coefficients; these do the same
// computation with the same rounding (round half away from zero of
// value*scale, reduced modulo each prime) without allocating, and fall back
// to lattigo's routine for values beyond 2^63. TestFastEncodeMatchesLattigo
// checks they agree bit for bit.

// setCoeff writes round(x) modulo every prime of pt into coefficient i.
func setCoeff(moduli []uint64, coeffs [][]uint64, i int, x float64) bool {
	a := math.Abs(x)
	if a >= 9.2e18 || math.IsNaN(x) {
		return false
	}
	c := uint64(a + 0.5)
	for j, q := range moduli {
		r := c % q
		if x < 0 && r != 0 {
			r = q - r
		}
		coeffs[j][i] = r
	}
	return true
}

// encodeSlots encodes up to Slots() complex values (real values when im is
// nil) at the given scale into pt, which must be batched at full slots.
func (w worker) encodeSlots(p Params, re, im []float64, cvals []complex128, scale float64, pt *rlwe.Plaintext) error {
	slots := p.Slots()
	buf := w.cbuf
	n := len(re)
	if cvals != nil {
		n = len(cvals)
		copy(buf, cvals)
	} else {
		for i, x := range re {
			if im != nil {
				buf[i] = complex(x, im[i])
			} else {
				buf[i] = complex(x, 0)
			}
		}
	}
	if n > slots {
		return fmt.Errorf("he: %d values for %d slots", n, slots)
	}
	clear(buf[n:])
	if err := w.enc.IFFT(buf, p.ckks.LogMaxSlots()); err != nil {
		return err
	}
	rq := p.ckks.RingQ().AtLevel(pt.Level())
	moduli := rq.ModuliChain()[:pt.Level()+1]
	coeffs := pt.Value.Coeffs
	for i, v := range buf {
		if !setCoeff(moduli, coeffs, i, real(v)*scale) {
			ckks.SingleFloat64ToFixedPointCRT(rq, i, real(v), scale, coeffs)
		}
		if !setCoeff(moduli, coeffs, i+slots, imag(v)*scale) {
			ckks.SingleFloat64ToFixedPointCRT(rq, i+slots, imag(v), scale, coeffs)
		}
	}
	pt.Scale = rlwe.NewScale(scale)
	pt.IsBatched = true
	pt.LogDimensions = p.ckks.LogMaxDimensions()
	rlwe.NTTSparseAndMontgomery(rq, pt.MetaData, pt.Value)
	return nil
}

// encodeCoeffs encodes up to N real values in the coefficients of pt.
func (w worker) encodeCoeffs(p Params, vals []float64, scale float64, pt *rlwe.Plaintext) error {
	if len(vals) > p.N() {
		return fmt.Errorf("he: %d values for %d coefficients", len(vals), p.N())
	}
	rq := p.ckks.RingQ().AtLevel(pt.Level())
	moduli := rq.ModuliChain()[:pt.Level()+1]
	coeffs := pt.Value.Coeffs
	for _, row := range coeffs {
		clear(row)
	}
	for i, x := range vals {
		if !setCoeff(moduli, coeffs, i, x*scale) {
			ckks.SingleFloat64ToFixedPointCRT(rq, i, x, scale, coeffs)
		}
	}
	pt.Scale = rlwe.NewScale(scale)
	pt.IsBatched = false
	rq.NTT(pt.Value, pt.Value)
	return nil
}
