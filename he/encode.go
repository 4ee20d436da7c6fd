package he

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"

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
	if math.IsNaN(a) || math.IsInf(a, 0) {
		return false
	}
	if a >= 9.2e18 {
		// An integer m*2^e with a 53-bit m, as lattigo's big-integer path
		// rounds it: residue (m mod q)(2^e mod q).
		frac, exp := math.Frexp(a)
		m, e := uint64(math.Ldexp(frac, 53)), exp-53
		for j, q := range moduli {
			r := mulmod(m%q, pow2mod(e, q), q)
			if x < 0 && r != 0 {
				r = q - r
			}
			coeffs[j][i] = r
		}
		return true
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

// pow2mod returns 2^e mod q.
func pow2mod(e int, q uint64) uint64 {
	r, b := uint64(1)%q, uint64(2)%q
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulmod(r, b, q)
		}
		b = mulmod(b, b, q)
	}
	return r
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

// decodeSlots decodes a batched plaintext into Slots() complex values. At
// levels 0 and 1 (every decryption level of Veil's sets) it reconstructs the
// centered coefficients in float64 from one or two residues instead of
// lattigo's big-integer path, then applies lattigo's FFT; beyond, it defers
// to lattigo. The float64 rounding (2^-53 of the coefficient) stays far
// below the flooding noise. TestFastDecodeMatchesLattigo checks it.
func decodeSlots(p Params, enc *ckks.Encoder, pt *rlwe.Plaintext, out []complex128) error {
	if pt.Level() > 1 || !pt.IsBatched || pt.LogDimensions.Cols != p.ckks.LogMaxSlots() {
		return enc.Decode(pt, out)
	}
	rq := p.ckks.RingQ().AtLevel(pt.Level())
	poly := rq.NewPoly()
	if pt.IsNTT {
		rq.INTT(pt.Value, poly)
	} else {
		poly.CopyLvl(pt.Level(), pt.Value)
	}
	slots := p.Slots()
	q0 := rq.SubRings[0].Modulus
	var centered func(i int) float64
	if pt.Level() == 0 {
		c0 := poly.Coeffs[0]
		centered = func(i int) float64 {
			if c := c0[i]; c >= q0>>1 {
				return -float64(q0 - c)
			} else {
				return float64(c)
			}
		}
	} else {
		// x = x0 + q0*k with k = (x1 - x0) / q0 mod q1; centered when
		// k is in the upper half of [0, q1).
		c0, c1 := poly.Coeffs[0], poly.Coeffs[1]
		q1 := rq.SubRings[1].Modulus
		inv := new(big.Int).ModInverse(new(big.Int).SetUint64(q0%q1), new(big.Int).SetUint64(q1)).Uint64()
		centered = func(i int) float64 {
			x0 := c0[i]
			d := (c1[i] + q1 - x0%q1) % q1
			hi, lo := bits.Mul64(d, inv)
			_, k := bits.Div64(hi, lo, q1)
			if k >= (q1+1)/2 { // negative: -((q1 - k) q0 - x0)
				hi, lo := bits.Mul64(q1-k, q0)
				lo, borrow := bits.Sub64(lo, x0, 0)
				return -u128Float(hi-borrow, lo)
			}
			hi, lo = bits.Mul64(k, q0)
			lo, carry := bits.Add64(lo, x0, 0)
			return u128Float(hi+carry, lo)
		}
	}
	scale := pt.Scale.Float64()
	for i := range slots {
		out[i] = complex(centered(i)/scale, centered(i+slots)/scale)
	}
	return enc.FFT(out[:slots], p.ckks.LogMaxSlots())
}

// u128Float converts hi*2^64 + lo to float64.
func u128Float(hi, lo uint64) float64 { return float64(hi)*0x1p64 + float64(lo) }
