package he

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// A SharedVector is one party's additive share of an encrypted vector's
// plaintexts: one Share per ciphertext, with the layout and scale of the
// vector. The two parties' SharedVectors of one value add up, coefficient by
// coefficient, to the plaintext polynomials of the vector it came from (its
// values times Scale, plus its noise).
//
// Shares are made from a ciphertext by OpenToPeer and ReceiveOpened, updated
// locally (Add, MulFixed, Automorphism, Fold), turned back into a ciphertext
// by EncryptShares and JoinShares, and revealed to one party by sending the
// other's flooded share (Flood, DecodeShares).
type SharedVector struct {
	Layout Layout
	Len    int
	Chunk  int
	Stride int
	// Scale is the scale of the plaintexts: value = coefficient sum / Scale.
	Scale  float64
	Shares []*Share
}

// ErrShares is returned for shares that do not fit each other or the
// parameters.
var ErrShares = errors.New("he: shares do not match")

func (sv *SharedVector) shape() Vector {
	return Vector{Layout: sv.Layout, Len: sv.Len, Chunk: sv.Chunk, Stride: sv.Stride}
}

// sameShape reports whether two shared vectors hold shares of the same shape.
func (sv *SharedVector) sameShape(o *SharedVector) bool {
	if sv == nil || o == nil || sv.Layout != o.Layout || sv.Len != o.Len || sv.Chunk != o.Chunk || sv.Stride != o.Stride || len(sv.Shares) != len(o.Shares) {
		return false
	}
	for i := range sv.Shares {
		if sv.Shares[i].N() != o.Shares[i].N() {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (sv *SharedVector) Clone() *SharedVector {
	out := *sv
	out.Shares = make([]*Share, len(sv.Shares))
	for i, s := range sv.Shares {
		out.Shares[i] = s.Clone()
	}
	return &out
}

// Add sets sv = sv + o (same shape; the scale of sv is kept, so o must have
// the same scale for the sum to mean anything).
func (sv *SharedVector) Add(o *SharedVector) error {
	if !sv.sameShape(o) {
		return fmt.Errorf("%w: adding shares of another shape", ErrShares)
	}
	for i, s := range sv.Shares {
		s.Add(s, o.Shares[i])
	}
	return nil
}

// Sub sets sv = sv - o.
func (sv *SharedVector) Sub(o *SharedVector) error {
	if !sv.sameShape(o) {
		return fmt.Errorf("%w: subtracting shares of another shape", ErrShares)
	}
	for i, s := range sv.Shares {
		s.Sub(s, o.Shares[i])
	}
	return nil
}

// MulFixed multiplies every coefficient by f, rounding once each.
func (sv *SharedVector) MulFixed(f Fixed) error {
	for _, s := range sv.Shares {
		if err := s.MulFixed(s, f); err != nil {
			return err
		}
	}
	return nil
}

// ScaleTo multiplies the shares by scale/sv.Scale (one rounding per
// coefficient) so that they represent the same values at about the given
// scale; Scale becomes the exact scale reached, the same for both parties.
func (sv *SharedVector) ScaleTo(scale float64) error {
	f, err := NewFixed(scale / sv.Scale)
	if err != nil {
		return err
	}
	if err := sv.MulFixed(f); err != nil {
		return err
	}
	sv.Scale *= f.Float64()
	return nil
}

// ZeroShares returns a zero share of the shape of sv at the given scale.
func ZeroShares(sv *SharedVector, scale float64) *SharedVector {
	out := &SharedVector{Layout: sv.Layout, Len: sv.Len, Chunk: sv.Chunk, Stride: sv.Stride, Scale: scale, Shares: make([]*Share, len(sv.Shares))}
	for i, s := range sv.Shares {
		out.Shares[i] = NewShare(s.N())
	}
	return out
}

// AddConjugate sets every share to s + conj(s): the plaintexts become twice
// their real parts (slot layouts), so a vector whose imaginary parts carry
// garbage leaves only its real values. Halve the meaning by doubling Scale.
func (p Params) AddConjugate(sv *SharedVector) {
	g := p.ckks.GaloisElementForComplexConjugation()
	tmp := NewShare(p.N())
	for _, s := range sv.Shares {
		tmp.Automorphism(s, g)
		s.Add(s, tmp)
	}
	sv.Scale *= 2
}

// Fold adds every slot rotation of sv by a multiple of block: a slot vector
// whose slots held partial sums then holds in slot j the sum over all slots
// congruent to j modulo block (the fold of MulTransposed's unfolded output),
// replicated with period block. block must be a power of two dividing the
// slot count. It costs log2(Slots/block) automorphisms per share, no key.
func (p Params) Fold(sv *SharedVector, block int) error {
	if block < 1 || block&(block-1) != 0 || p.Slots()%block != 0 {
		return fmt.Errorf("%w: fold block %d", ErrShares, block)
	}
	tmp := NewShare(p.N())
	for _, s := range sv.Shares {
		for r := block; r < p.Slots(); r <<= 1 {
			tmp.Automorphism(s, p.ckks.GaloisElementForRotation(r))
			s.Add(s, tmp)
		}
	}
	return nil
}

// Project zeroes every coefficient of sv's shares outside the subring that
// holds slot vectors of period block: coefficients at multiples of
// N/(2 block) remain. A Fold lands there exactly (it is the trace onto that
// subring), so projecting a folded share changes nothing; projecting before
// revealing a share makes sure it carries nothing but the 2*block values
// per ciphertext its sum encodes.
func (p Params) Project(sv *SharedVector, block int) error {
	if block < 1 || block&(block-1) != 0 || p.Slots()%block != 0 {
		return fmt.Errorf("%w: projection block %d", ErrShares, block)
	}
	gap := p.N() / (2 * block)
	for _, s := range sv.Shares {
		for j := range s.c {
			if j%gap != 0 {
				s.c[j] = limb4{}
			}
		}
	}
	return nil
}

// Flood returns a copy of sv, projected on the subring of slot period
// block (Project), with discrete Gaussian noise of standard deviation sigma
// added to each of its 2*block coefficients per ciphertext: the share a
// party sends so that its peer learns the sum of the two shares, the values
// whose ciphertext noise the flooding hides, and nothing else.
func (p Params) Flood(sv *SharedVector, block int, sigma float64) (*SharedVector, error) {
	out := sv.Clone()
	if err := p.Project(out, block); err != nil {
		return nil, err
	}
	gap := p.N() / (2 * block)
	f, err := newFloodSampler(sigma)
	if err != nil {
		return nil, err
	}
	for _, s := range out.Shares {
		for j := 0; j < len(s.c); j += gap {
			hi, lo := f.sample()
			s.c[j] = add4(s.c[j], fromShifted(hi, lo, f.lowBits))
		}
	}
	return out, nil
}

// crtAt returns the CRT of the first level+1 primes.
func (p Params) crtAt(level int) (*crt, error) {
	return newCRT(p.ckks.Q()[:level+1])
}

// ShareCapacity is log2 of the largest mask OpenToPeer can draw at a level:
// the mask and the value must both stay below half the modulus.
func (p Params) ShareCapacity(level int) float64 {
	return float64(p.ckks.LogQLvl(level)) - 2
}

// ShareMaskBits is the width of the uniform masks that statistically hide
// values of up to 2^valueBits (coefficient domain) in count masked
// coefficients at statistical distance 2^-StatisticalSecurity in all: a
// uniform mask of b bits hides one coefficient at distance 2^(valueBits+1-b),
// and a union bound over count coefficients adds log2(count).
func ShareMaskBits(valueBits float64, count float64) uint {
	return uint(math.Ceil(valueBits + 1 + StatisticalSecurity + math.Log2(math.Max(count, 1))))
}

// OpenToPeer turns v into additive shares: this party keeps a uniform mask M
// of maskBits bits per coefficient as its share, and returns the message for
// the peer, a vector (h, c1) with h = c0 + s_own*c1 - M + e, which the peer
// alone turns into its share m + e_v - M (ReceiveOpened). v is rerandomized
// first (its c1 travels). The peer learns m only through m - M: statistically
// nothing, as long as the coefficients of m stay below 2^(maskBits-41-log2
// count) (ShareMaskBits). maskBits must fit the level (ShareCapacity).
func (p *Party) OpenToPeer(v *Vector, maskBits uint) (*Vector, *SharedVector, error) {
	if err := v.check(p.params); err != nil {
		return nil, nil, err
	}
	mask, err := p.params.DrawOpenMask(v.Layout, v.Len, v.Chunk, v.Stride, len(v.Cts), v.Level(), v.Cts[0].Scale.Float64(), maskBits)
	if err != nil {
		return nil, nil, err
	}
	msg, err := p.OpenToPeerWith(v, mask)
	return msg, mask, err
}

// DrawOpenMask draws the masks OpenToPeerWith keeps as this party's share of
// a vector of n values in count ciphertexts at level and scale (layout,
// chunk and stride as the vector's): maskBits uniform bits a coefficient,
// independent of the vector, so a party may draw them, and send what
// depends on them alone, before the vector exists. maskBits must fit the
// level (ShareCapacity).
func (p Params) DrawOpenMask(layout Layout, n, chunk, stride, count, level int, scale float64, maskBits uint) (*SharedVector, error) {
	if float64(maskBits) > p.ShareCapacity(level) {
		return nil, fmt.Errorf("%w: masks of %d bits do not fit level %d (%.0f bits)", ErrShares, maskBits, level, p.ShareCapacity(level))
	}
	mask := &SharedVector{Layout: layout, Len: n, Chunk: chunk, Stride: stride, Scale: scale, Shares: make([]*Share, count)}
	for i := range mask.Shares {
		m, err := UniformShare(p.N(), maskBits)
		if err != nil {
			return nil, err
		}
		mask.Shares[i] = m
	}
	return mask, nil
}

// OpenToPeerWith is OpenToPeer with the mask drawn before (DrawOpenMask for
// v's shape and scale, refused otherwise); the mask stays this party's
// share.
func (p *Party) OpenToPeerWith(v *Vector, mask *SharedVector) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	level := v.Level()
	for _, ct := range v.Cts {
		if ct.Level() != level {
			return nil, fmt.Errorf("%w: ciphertexts at levels %d and %d", ErrLayout, level, ct.Level())
		}
	}
	if mask.Layout != v.Layout || mask.Len != v.Len || mask.Chunk != v.Chunk || mask.Stride != v.Stride || len(mask.Shares) != len(v.Cts) || mask.Scale != v.Cts[0].Scale.Float64() {
		return nil, fmt.Errorf("%w: a mask of %d shares for %d values (%s, scale 2^%.6f) opens %d ciphertexts of %d values (%s, scale 2^%.6f)",
			ErrShares, len(mask.Shares), mask.Len, mask.Layout, math.Log2(mask.Scale), len(v.Cts), v.Len, v.Layout, math.Log2(v.Cts[0].Scale.Float64()))
	}
	if err := p.Rerandomize(v); err != nil {
		return nil, err
	}
	msg := &Vector{Layout: v.Layout, Len: v.Len, Chunk: v.Chunk, Stride: v.Stride, Cts: make([]*rlwe.Ciphertext, len(v.Cts))}
	errs := make([]error, len(v.Cts))
	rq := p.params.ckks.RingQ().AtLevel(level)
	moduli := rq.ModuliChain()[:level+1]
	parallelFor(len(v.Cts), func(lo, hi int) {
		noise, err := p.noiseSampler(rq)
		if err != nil {
			errs[lo] = err
			return
		}
		mpoly := rq.NewPoly()
		for i := lo; i < hi; i++ {
			ct := v.Cts[i]
			mask.Shares[i].writePoly(moduli, mpoly)
			e := rq.NewPoly()
			noise.Read(e)
			rq.Sub(e, mpoly, e) // e - M, coefficient domain
			rq.NTT(e, e)
			h := rq.NewPoly()
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, h)
			rq.Add(h, ct.Value[0], h)
			rq.Add(h, e, h)
			out := ckks.NewCiphertext(p.params.ckks, 1, level)
			out.Value[0] = h
			out.Value[1].Copy(ct.Value[1])
			*out.MetaData = *ct.MetaData
			msg.Cts[i] = out
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return msg, nil
}

// ReceiveOpened turns the peer's OpenToPeer message into this party's share.
func (p *Party) ReceiveOpened(msg *Vector) (*SharedVector, error) {
	if err := msg.check(p.params); err != nil {
		return nil, err
	}
	level := msg.Level()
	c, err := p.params.crtAt(level)
	if err != nil {
		return nil, err
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	sv := &SharedVector{Layout: msg.Layout, Len: msg.Len, Chunk: msg.Chunk, Stride: msg.Stride, Scale: msg.Cts[0].Scale.Float64(), Shares: make([]*Share, len(msg.Cts))}
	for _, ct := range msg.Cts {
		if ct.Level() != level || ct.Scale.Float64() != sv.Scale {
			return nil, fmt.Errorf("%w: opened ciphertexts at mixed levels or scales", ErrShares)
		}
	}
	parallelFor(len(msg.Cts), func(lo, hi int) {
		cc := *c
		cc.digits = nil
		pol := rq.NewPoly()
		for i := lo; i < hi; i++ {
			ct := msg.Cts[i]
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, pol)
			rq.Add(pol, ct.Value[0], pol)
			rq.INTT(pol, pol)
			s := NewShare(p.params.N())
			s.setPoly(&cc, pol)
			sv.Shares[i] = s
		}
	})
	return sv, nil
}

func (p *Party) noiseSampler(rq *ring.Ring) (ring.Sampler, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("he: noise randomness: %w", err)
	}
	s, err := ring.NewSampler(mrand.NewChaCha8(key), rq, p.params.ckks.Xe(), false)
	if err != nil {
		return nil, fmt.Errorf("he: noise sampler: %w", err)
	}
	return s, nil
}

// SeededShares is a party's share encrypted under its own key share at a
// level, with public c1 expanded from a seed (see SeededVector): the peer
// joins it to the collective key and adds its own share (JoinShares), which
// yields an ordinary ciphertext of the shared value. The peer holds RLWE
// samples under a key share it does not know: it learns nothing of the
// share.
type SeededShares struct {
	Layout Layout
	Len    int
	Chunk  int
	Stride int
	Scale  float64
	Level  int
	Seed   [32]byte
	C0     []ring.Poly // NTT form
}

func (ss *SeededShares) expand(rq *ring.Ring, i int, a ring.Poly) {
	key := sha256.Sum256(binary.LittleEndian.AppendUint64(append([]byte("veil shares"), ss.Seed[:]...), uint64(i)))
	ring.NewUniformSampler(mrand.NewChaCha8(key), rq).Read(a)
}

// EncryptShares encrypts this party's share at the given level for the peer
// to join (see SeededShares).
func (p *Party) EncryptShares(sv *SharedVector, level int) (*SeededShares, error) {
	if level < 0 || level > p.params.MaxLevel() {
		return nil, fmt.Errorf("he: level %d outside [0, %d]", level, p.params.MaxLevel())
	}
	ss := &SeededShares{Layout: sv.Layout, Len: sv.Len, Chunk: sv.Chunk, Stride: sv.Stride, Scale: sv.Scale, Level: level, C0: make([]ring.Poly, len(sv.Shares))}
	if err := ss.checkShape(p.params); err != nil {
		return nil, err
	}
	if _, err := rand.Read(ss.Seed[:]); err != nil {
		return nil, fmt.Errorf("he: seed: %w", err)
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	moduli := rq.ModuliChain()[:level+1]
	errs := make([]error, len(sv.Shares))
	parallelFor(len(sv.Shares), func(lo, hi int) {
		noise, err := p.noiseSampler(rq)
		if err != nil {
			errs[lo] = err
			return
		}
		a, m := rq.NewPoly(), rq.NewPoly()
		for i := lo; i < hi; i++ {
			if sv.Shares[i].N() != p.params.N() {
				errs[i] = fmt.Errorf("%w: share of %d coefficients, N = %d", ErrShares, sv.Shares[i].N(), p.params.N())
				return
			}
			c0 := rq.NewPoly()
			noise.Read(c0)
			sv.Shares[i].writePoly(moduli, m)
			rq.Add(c0, m, c0)
			rq.NTT(c0, c0)
			ss.expand(rq, i, a)
			rq.MulCoeffsMontgomeryThenSub(a, p.sk.Value.Q, c0)
			ss.C0[i] = c0
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ss, nil
}

func (ss *SeededShares) checkShape(p Params) error {
	v := Vector{Layout: ss.Layout, Len: ss.Len, Chunk: ss.Chunk, Stride: ss.Stride}
	if err := v.checkLayout(p, len(ss.C0)); err != nil {
		return err
	}
	if !(ss.Scale >= 1) || ss.Scale > math.Exp2(200) {
		return fmt.Errorf("%w: shares at scale %v", ErrShares, ss.Scale)
	}
	if ss.Level < 0 || ss.Level > p.MaxLevel() {
		return fmt.Errorf("%w: shares at level %d", ErrShares, ss.Level)
	}
	return nil
}

// JoinShares combines the peer's encrypted share with this party's own
// share of the same shape into a ciphertext of the shared value under the
// collective key, at the peer's level and scale.
func (p *Party) JoinShares(ss *SeededShares, own *SharedVector) (*Vector, error) {
	if err := ss.checkShape(p.params); err != nil {
		return nil, err
	}
	if own == nil || own.Layout != ss.Layout || own.Len != ss.Len || own.Chunk != ss.Chunk || own.Stride != ss.Stride || len(own.Shares) != len(ss.C0) {
		return nil, fmt.Errorf("%w: the peer's encrypted share and this party's share differ in shape", ErrShares)
	}
	if own.Scale != ss.Scale {
		return nil, fmt.Errorf("%w: the peer's encrypted share is at scale 2^%.2f, this party's at 2^%.2f", ErrShares, math.Log2(ss.Scale), math.Log2(own.Scale))
	}
	for i, c0 := range ss.C0 {
		if c0.Level() != ss.Level || c0.N() != p.params.N() || own.Shares[i].N() != p.params.N() {
			return nil, fmt.Errorf("%w: encrypted share %d has %d moduli of degree %d", ErrShares, i, c0.Level()+1, c0.N())
		}
	}
	rq := p.params.ckks.RingQ().AtLevel(ss.Level)
	moduli := rq.ModuliChain()[:ss.Level+1]
	v := &Vector{Layout: ss.Layout, Len: ss.Len, Chunk: ss.Chunk, Stride: ss.Stride, Cts: make([]*rlwe.Ciphertext, len(ss.C0))}
	batched := ss.Layout == SlotReal || ss.Layout == SlotComplex || ss.Layout == SlotSplit
	parallelFor(len(ss.C0), func(lo, hi int) {
		m := rq.NewPoly()
		for i := lo; i < hi; i++ {
			ct := ckks.NewCiphertext(p.params.ckks, 1, ss.Level)
			ss.expand(rq, i, ct.Value[1])
			own.Shares[i].writePoly(moduli, m)
			rq.NTT(m, m)
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, ct.Value[0])
			rq.Sub(ss.C0[i], ct.Value[0], ct.Value[0])
			rq.Add(ct.Value[0], m, ct.Value[0])
			ct.IsNTT, ct.IsBatched = true, batched
			ct.Scale = rlwe.NewScale(ss.Scale)
			if batched {
				ct.LogDimensions = p.params.ckks.LogMaxDimensions()
			}
			v.Cts[i] = ct
		}
	})
	return v, nil
}

// DecodeShares adds the two parties' shares of a vector and decodes the
// values: the step by which one party learns a value from its own share and
// the peer's flooded one. SlotReal gives Len values, SlotSplit Len values in
// their order, SlotComplex the real parts.
func (p Params) DecodeShares(a, b *SharedVector) ([]float64, error) {
	if !a.sameShape(b) || a.Scale != b.Scale {
		return nil, fmt.Errorf("%w: decoding shares of different shapes or scales", ErrShares)
	}
	out := make([]float64, a.Len)
	sum := NewShare(p.N())
	coeffs := make([]float64, p.N())
	slots := p.Slots()
	buf := make([]complex128, slots)
	enc := ckks.NewEncoder(p.ckks)
	for c := range a.Shares {
		sum.Add(a.Shares[c], b.Shares[c])
		sum.Float64s(coeffs)
		switch a.Layout {
		case Coeff:
			for j := 0; j < a.Chunk && c*a.Chunk+j < a.Len; j++ {
				out[c*a.Chunk+j] = coeffs[j] / a.Scale
			}
			continue
		case SlotReal, SlotComplex, SlotSplit:
		default:
			return nil, fmt.Errorf("%w: decoding shares in layout %s", ErrLayout, a.Layout)
		}
		for i := range buf {
			buf[i] = complex(coeffs[i]/a.Scale, coeffs[i+slots]/a.Scale)
		}
		if err := enc.FFT(buf, p.ckks.LogMaxSlots()); err != nil {
			return nil, err
		}
		switch a.Layout {
		case SlotReal, SlotComplex:
			for j := c * slots; j < min((c+1)*slots, a.Len); j++ {
				out[j] = real(buf[j-c*slots])
			}
		case SlotSplit:
			for r := c * a.Chunk; r < min((c+1)*a.Chunk, a.Stride, a.Len); r++ {
				out[r] = real(buf[r-c*a.Chunk])
				if a.Stride+r < a.Len {
					out[a.Stride+r] = imag(buf[r-c*a.Chunk])
				}
			}
		}
	}
	return out, nil
}

// EncodeShares returns a party's share of a SlotSplit vector of values
// (replicated with period Chunk, as MulTransposed's folded output) that it
// draws itself, at the given scale: used for the secret random initial
// weights, where each party's share is its own small random vector.
func (p Params) EncodeShares(values []float64, half, block int, logScale int) (*SharedVector, error) {
	if half < 1 || block < 1 || block&(block-1) != 0 || p.Slots()%block != 0 || len(values) > 2*half {
		return nil, fmt.Errorf("%w: %d values in halves of %d, blocks of %d", ErrShares, len(values), half, block)
	}
	blocks := (half + block - 1) / block
	sv := &SharedVector{Layout: SlotSplit, Len: len(values), Chunk: block, Stride: half, Scale: math.Exp2(float64(logScale)), Shares: make([]*Share, blocks)}
	enc := ckks.NewEncoder(p.ckks)
	slots := p.Slots()
	buf := make([]complex128, slots)
	coeffs := make([]float64, p.N())
	for a := range blocks {
		for j := range buf {
			r := a*block + j%block
			var re, im float64
			if r < half && r < len(values) {
				re = values[r]
			}
			if r < half && r+half < len(values) {
				im = values[r+half]
			}
			buf[j] = complex(re, im)
		}
		if err := enc.IFFT(buf, p.ckks.LogMaxSlots()); err != nil {
			return nil, err
		}
		for j, v := range buf {
			coeffs[j], coeffs[j+slots] = real(v), imag(v)
		}
		s := NewShare(p.N())
		if err := s.SetFloat64s(coeffs, logScale); err != nil {
			return nil, err
		}
		sv.Shares[a] = s
	}
	// The slots have period block: only the subring's coefficients are
	// nonzero, up to the float64 transform's rounding, which this removes.
	return sv, p.Project(sv, block)
}

// SumShares returns the two parties' shares of a vector added into one
// SharedVector: the plaintext polynomials themselves. For tests and noise
// measurements; a party never holds both shares of a secret.
func SumShares(a, b *SharedVector) (*SharedVector, error) {
	if !a.sameShape(b) || a.Scale != b.Scale {
		return nil, fmt.Errorf("%w: adding shares of different shapes or scales", ErrShares)
	}
	out := a.Clone()
	return out, out.Add(b)
}

// MaxCoeffDiff returns the largest absolute difference, coefficient by
// coefficient, between two shared vectors of one shape (exact, then
// rounded to float64).
func MaxCoeffDiff(x, y *SharedVector) (float64, error) {
	if !x.sameShape(y) {
		return 0, fmt.Errorf("%w: comparing shares of different shapes", ErrShares)
	}
	m := 0.0
	f := make([]float64, 1)
	d := NewShare(1)
	for i, s := range x.Shares {
		for j := range s.c {
			d.c[0] = sub4(s.c[j], y.Shares[i].c[j])
			d.Float64s(f)
			m = math.Max(m, math.Abs(f[0]))
		}
	}
	return m, nil
}
