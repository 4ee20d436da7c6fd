package he

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// ErrShareMismatch is returned when a decryption share does not belong to the
// vector it is combined with.
var ErrShareMismatch = errors.New("he: decryption share does not match the vector")

// DecryptionShare is a helping party's contribution to decrypting a Vector for
// its peer: one polynomial c1*s_helper + e_flood per ciphertext, at the
// decryption level. It reveals nothing about the helper's key share: the
// flooding noise e_flood (standard deviation 2^LogFlood) statistically hides
// both the key share and the ciphertext noise.
type DecryptionShare struct {
	ParamSet string
	Polys    []ring.Poly
}

// DecryptShare computes this party's flooded share for decrypting v to the
// peer. Only the peer, which combines it with its own key share, learns the
// values. Ciphertexts above the decryption level are dropped to it first
// (DropToDecryptLevel), as the peer does before combining.
//
// Call it only for vectors the protocol reveals to the peer: the values and
// every slot or coefficient the protocol does not reveal must already be
// zeroed or masked by whoever built v.
func (p *Party) DecryptShare(v *Vector) (*DecryptionShare, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	p.DropToDecryptLevel(v)
	share := &DecryptionShare{ParamSet: p.params.ID(), Polys: make([]ring.Poly, len(v.Cts))}
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		flood, err := newFloodSampler(p.params.floodSigma())
		if err != nil {
			errs[lo] = err
			return
		}
		for i := lo; i < hi; i++ {
			ct := v.Cts[i]
			rq := p.params.ckks.RingQ().AtLevel(ct.Level())
			out := rq.NewPoly()
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, out)
			e := rq.NewPoly()
			flood.read(rq, e)
			rq.NTT(e, e)
			rq.Add(out, e, out)
			share.Polys[i] = out
		}
	})
	return share, errors.Join(errs...)
}

// combine adds the helper's share and this party's own key share to the first
// component of each ciphertext, giving the plaintext polynomials.
func (p *Party) combine(v *Vector, helper *DecryptionShare) ([]*rlwe.Plaintext, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if helper == nil || helper.ParamSet != p.params.ID() || len(helper.Polys) != len(v.Cts) {
		return nil, fmt.Errorf("%w: %d ciphertexts, share for %d", ErrShareMismatch, len(v.Cts), lenPolys(helper))
	}
	p.DropToDecryptLevel(v)
	pts := make([]*rlwe.Plaintext, len(v.Cts))
	for i, ct := range v.Cts {
		if helper.Polys[i].Level() != ct.Level() || helper.Polys[i].N() != p.params.N() {
			return nil, fmt.Errorf("%w: ciphertext %d at level %d, share at level %d", ErrShareMismatch, i, ct.Level(), helper.Polys[i].Level())
		}
		rq := p.params.ckks.RingQ().AtLevel(ct.Level())
		pt := ckks.NewPlaintext(p.params.ckks, ct.Level())
		rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, pt.Value)
		rq.Add(pt.Value, helper.Polys[i], pt.Value)
		rq.Add(pt.Value, ct.Value[0], pt.Value)
		*pt.MetaData = *ct.MetaData
		pts[i] = pt
	}
	return pts, nil
}

func lenPolys(s *DecryptionShare) int {
	if s == nil {
		return 0
	}
	return len(s.Polys)
}

// Decrypt combines the helper's share with this party's own key share and
// returns the real values of v: SlotReal, SlotSplit, Coeff and CoeffGrid
// vectors give Len values; SlotComplex gives the real parts (use
// DecryptComplex for both).
func (p *Party) Decrypt(v *Vector, helper *DecryptionShare) ([]float64, error) {
	if v != nil && v.Layout == SlotComplex {
		c, err := p.DecryptComplex(v, helper)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(c))
		for i := range c {
			out[i] = real(c[i])
		}
		return out, nil
	}
	pts, err := p.combine(v, helper)
	if err != nil {
		return nil, err
	}
	out := make([]float64, v.Len)
	enc := p.encoder.ShallowCopy() // one per call: lattigo encoders are not safe for concurrent use
	switch v.Layout {
	case SlotReal:
		per := p.params.Slots()
		buf := make([]complex128, per)
		for i, pt := range pts {
			if err := decodeSlots(p.params, enc, pt, buf); err != nil {
				return nil, err
			}
			for j := i * per; j < min((i+1)*per, v.Len); j++ {
				out[j] = real(buf[j-i*per])
			}
		}
	case SlotSplit:
		buf := make([]complex128, p.params.Slots())
		for c, pt := range pts {
			if err := decodeSlots(p.params, enc, pt, buf); err != nil {
				return nil, err
			}
			for r := c * v.Chunk; r < min((c+1)*v.Chunk, v.Stride); r++ {
				out[r] = real(buf[r-c*v.Chunk])
				if v.Stride+r < v.Len {
					out[v.Stride+r] = imag(buf[r-c*v.Chunk])
				}
			}
		}
	case Coeff, CoeffGrid:
		per := v.perCiphertext(p.params)
		buf := make([]float64, p.params.N())
		for i, pt := range pts {
			pt.IsBatched = false
			if err := enc.Decode(pt, buf); err != nil {
				return nil, err
			}
			for j := 0; j < per && i*per+j < v.Len; j++ {
				pos := j
				if v.Layout == CoeffGrid {
					pos = v.gridPos(i, j)
				}
				out[i*per+j] = buf[pos]
			}
		}
	}
	return out, nil
}

// DecryptComplex is Decrypt for the SlotComplex layout.
func (p *Party) DecryptComplex(v *Vector, helper *DecryptionShare) ([]complex128, error) {
	if v == nil || v.Layout != SlotComplex {
		return nil, fmt.Errorf("%w: DecryptComplex needs a slot-complex vector", ErrLayout)
	}
	pts, err := p.combine(v, helper)
	if err != nil {
		return nil, err
	}
	per := p.params.Slots()
	out := make([]complex128, v.Len)
	buf := make([]complex128, per)
	enc := p.encoder.ShallowCopy()
	for i, pt := range pts {
		if err := decodeSlots(p.params, enc, pt, buf); err != nil {
			return nil, err
		}
		copy(out[i*per:min((i+1)*per, v.Len)], buf)
	}
	return out, nil
}

// floodSampler draws the flooding noise: discrete values round(sigma*z) with
// z standard normal, plus uniform low bits where sigma exceeds float64's 53-bit
// mantissa, so every bit of the noise is random. Randomness comes from
// ChaCha8 (math/rand/v2's cryptographically strong generator) keyed from
// crypto/rand.
type floodSampler struct {
	prng     *rand.ChaCha8
	sigma    float64
	lowBits  uint
	spare    float64
	hasSpare bool
}

func newFloodSampler(sigma float64) (*floodSampler, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("he: flooding randomness: %w", err)
	}
	prng := rand.NewChaCha8(seed)
	low := 0
	if e := math.Ilogb(sigma); e > 50 {
		low = e - 50
	}
	if sigma > math.Exp2(100) {
		return nil, fmt.Errorf("he: flooding sigma 2^%.1f too large", math.Log2(sigma))
	}
	return &floodSampler{prng: prng, sigma: sigma, lowBits: uint(low)}, nil
}

func (f *floodSampler) uint64() uint64 { return f.prng.Uint64() }

// normal returns a standard normal value (Box-Muller).
func (f *floodSampler) normal() float64 {
	if f.hasSpare {
		f.hasSpare = false
		return f.spare
	}
	u1 := (float64(f.uint64()>>11) + 0.5) / (1 << 53)
	u2 := float64(f.uint64()>>11) / (1 << 53)
	r := math.Sqrt(-2 * math.Log(u1))
	f.spare, f.hasSpare = r*math.Sin(2*math.Pi*u2), true
	return r * math.Cos(2*math.Pi*u2)
}

// sample returns one noise value as hi*2^lowBits + lo, bounded by 12 sigma
// (the tail beyond is resampled; its probability is below 2^-100).
func (f *floodSampler) sample() (hi, lo int64) {
	for {
		z := f.normal()
		if math.Abs(z) > 12 {
			continue
		}
		hi = int64(math.Round(z * math.Ldexp(f.sigma, -int(f.lowBits))))
		if f.lowBits > 0 {
			lo = int64(f.uint64() & (1<<f.lowBits - 1))
		}
		return hi, lo
	}
}

// read fills pol (coefficient domain, every level of r) with fresh noise.
func (f *floodSampler) read(r *ring.Ring, pol ring.Poly) {
	moduli := r.ModuliChain()[:r.Level()+1]
	for i := 0; i < r.N(); i++ {
		hi, lo := f.sample()
		for j, q := range moduli {
			pol.Coeffs[j][i] = modSigned(hi, lo, f.lowBits, q)
		}
	}
}

// modSigned returns (hi*2^shift + lo) mod q for lo in [0, 2^shift).
func modSigned(hi, lo int64, shift uint, q uint64) uint64 {
	neg := hi < 0
	h := uint64(hi)
	if neg {
		h = uint64(-hi)
	}
	// |hi| * 2^shift as a 128-bit number, then mod q.
	top, bottom := h>>(64-shift%64), h<<shift
	if shift == 0 {
		top = 0
	}
	r := bits.Rem64(top%q, bottom, q)
	if neg && r != 0 {
		r = q - r
	}
	return (r + uint64(lo)%q) % q
}
