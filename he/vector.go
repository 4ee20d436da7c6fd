package he

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Layout says where the values of a Vector sit in its ciphertexts.
type Layout uint8

const (
	// SlotReal packs one real value per complex slot (real part), Slots()
	// values per ciphertext.
	SlotReal Layout = iota + 1
	// SlotComplex packs two real vectors a and b as a + i*b, Slots() pairs per
	// ciphertext (complex packing halves the ciphertexts). Len counts pairs.
	SlotComplex
	// SlotSplit is the output of the matrix kernel: the values are split at
	// Stride (value i < Stride in a real part, value Stride+i in the
	// imaginary part of the same slot), and the Stride positions are cut into
	// blocks of Chunk, one ciphertext each: position r sits in slot r mod Chunk
	// of ciphertext r / Chunk.
	SlotSplit
	// Coeff packs Chunk real values per ciphertext in coefficients 0..Chunk-1.
	Coeff
	// CoeffGrid is the output of the histogram kernel: each ciphertext holds
	// Stride groups of Chunk values (Stride even, Stride*Chunk <= N); item b
	// of group i sits at coefficient Stride*b + i for a ciphertext of more
	// than Stride/2 groups. One of m' <= Stride/2 groups packs with fewer
	// automorphisms when its groups are spread out over the whole stride in
	// bit-reversed order, so that every round of the packing merges pairs
	// (groups 2j and 2j+1 in the first, whose offsets differ by Stride/2)
	// instead of turning groups alone: about m' automorphisms in all rather
	// than 2m'. With m = 2^b the power of two at or above m', group i sits
	// at offset rev_b(i)*Stride/m, rev_b reversing i's b low bits. Value
	// index g*Chunk + b is item b of group g, in ciphertext g / Stride.
	CoeffGrid
)

func (l Layout) String() string {
	switch l {
	case SlotReal:
		return "slot-real"
	case SlotComplex:
		return "slot-complex"
	case SlotSplit:
		return "slot-split"
	case Coeff:
		return "coeff"
	case CoeffGrid:
		return "coeff-grid"
	}
	return fmt.Sprintf("layout(%d)", uint8(l))
}

// Vector is an encrypted vector of any length, spanning as many ciphertexts as
// it needs. It knows its length and layout, so callers never count slots.
type Vector struct {
	Layout Layout
	// Len is the number of values (pairs for SlotComplex).
	Len int
	// Chunk is the number of values per ciphertext (Coeff, CoeffStrided).
	Chunk int
	// Stride is the coefficient distance between items (CoeffGrid) or the
	// split point Half (SlotSplit).
	Stride int
	Cts    []*rlwe.Ciphertext
}

// ErrLayout is returned when a vector's layout does not fit the operation.
var ErrLayout = errors.New("he: vector layout")

// perCiphertext is the number of values each ciphertext carries.
func (v *Vector) perCiphertext(p Params) int {
	switch v.Layout {
	case SlotReal, SlotComplex:
		return p.Slots()
	case SlotSplit:
		return v.Chunk
	case CoeffGrid:
		return v.Chunk * v.Stride
	default:
		return v.Chunk
	}
}

// gridPos returns the coefficient of value j of ciphertext c of a CoeffGrid
// vector.
func (v *Vector) gridPos(c, j int) int {
	groups := min(v.Stride, (v.Len+v.Chunk-1)/v.Chunk-c*v.Stride)
	return v.Stride*(j%v.Chunk) + gridOffset(v.Stride, groups, j/v.Chunk)
}

// gridOffset is the coefficient offset of group i in a CoeffGrid ciphertext
// of the given stride that holds groups groups (see CoeffGrid).
func gridOffset(stride, groups, i int) int {
	if groups > stride/2 {
		return i
	}
	m, b := 1, 0
	for m < groups {
		m, b = m<<1, b+1
	}
	return int(bits.Reverse64(uint64(i))>>(64-b)) * (stride / m)
}

// Level returns the lowest level of the vector's ciphertexts.
func (v *Vector) Level() int {
	l := -1
	for _, ct := range v.Cts {
		if l < 0 || ct.Level() < l {
			l = ct.Level()
		}
	}
	return l
}

// check validates the shape of v against p: ciphertext count, degrees,
// levels and layout fields. It guards every decoder and every kernel input.
// checkLayout validates the layout fields of v for count ciphertexts.
func (v *Vector) checkLayout(p Params, count int) error {
	if v.Len < 0 {
		return fmt.Errorf("%w: negative length %d", ErrLayout, v.Len)
	}
	switch v.Layout {
	case SlotReal, SlotComplex:
	case SlotSplit:
		if v.Len > 2*p.Slots() || v.Stride < 0 || v.Stride > p.Slots() || v.Len > 2*v.Stride || v.Chunk < 1 || v.Chunk > p.Slots() {
			return fmt.Errorf("%w: slot-split length %d with half %d in blocks of %d", ErrLayout, v.Len, v.Stride, v.Chunk)
		}
	case Coeff:
		if v.Chunk < 1 || v.Chunk > p.N() {
			return fmt.Errorf("%w: chunk %d outside [1, %d]", ErrLayout, v.Chunk, p.N())
		}
	case CoeffGrid:
		if v.Chunk < 1 || v.Stride < 2 || v.Stride%2 != 0 || v.Chunk*v.Stride > p.N() {
			return fmt.Errorf("%w: %d values at stride %d (even, at least 2) exceed N=%d", ErrLayout, v.Chunk, v.Stride, p.N())
		}
	default:
		return fmt.Errorf("%w: unknown layout %d", ErrLayout, v.Layout)
	}
	per := v.perCiphertext(p)
	want := (v.Len + per - 1) / per
	if v.Layout == SlotSplit {
		want = (v.Stride + v.Chunk - 1) / v.Chunk
	}
	if count != want {
		return fmt.Errorf("%w: %s vector of %d values needs %d ciphertexts, has %d", ErrLayout, v.Layout, v.Len, want, count)
	}
	return nil
}

func (v *Vector) check(p Params) error {
	if v == nil {
		return fmt.Errorf("%w: nil vector", ErrLayout)
	}
	if err := v.checkLayout(p, len(v.Cts)); err != nil {
		return err
	}
	for i, ct := range v.Cts {
		if ct == nil || ct.Degree() != 1 || ct.Level() > p.MaxLevel() || ct.Value[0].N() != p.N() {
			return fmt.Errorf("%w: ciphertext %d is malformed for %s", ErrLayout, i, p.ID())
		}
		if !ct.IsNTT {
			return fmt.Errorf("%w: ciphertext %d is not in the NTT domain", ErrLayout, i)
		}
	}
	return nil
}

// Encrypt encrypts real values in the SlotReal layout at the top level.
func (p *Party) Encrypt(values []float64) (*Vector, error) {
	return p.EncryptAt(values, p.params.MaxLevel())
}

// EncryptAt encrypts real values in the SlotReal layout at the given level:
// a vector that will take k plaintext products before its decryption is
// encrypted at DecryptLevel + k, which makes it cheaper to encrypt and send.
func (p *Party) EncryptAt(values []float64, level int) (*Vector, error) {
	per := p.params.Slots()
	v := &Vector{Layout: SlotReal, Len: len(values), Cts: make([]*rlwe.Ciphertext, (len(values)+per-1)/per)}
	return v, p.encryptChunks(v, level, func(w worker, i int, pt *rlwe.Plaintext) error {
		lo, hi := i*per, min((i+1)*per, len(values))
		return w.encodeSlots(p.params, values[lo:hi], nil, nil, math.Exp2(encodeLogScale), pt)
	})
}

// EncryptComplex encrypts a + i*b in the SlotComplex layout (complex packing:
// two real vectors in half the ciphertexts). a and b must have equal length.
func (p *Party) EncryptComplex(a, b []float64) (*Vector, error) {
	return p.EncryptComplexAt(a, b, p.params.MaxLevel())
}

// EncryptComplexAt is EncryptComplex at the given level (see EncryptAt).
func (p *Party) EncryptComplexAt(a, b []float64, level int) (*Vector, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("he: complex packing of %d and %d values", len(a), len(b))
	}
	per := p.params.Slots()
	v := &Vector{Layout: SlotComplex, Len: len(a), Cts: make([]*rlwe.Ciphertext, (len(a)+per-1)/per)}
	return v, p.encryptChunks(v, level, func(w worker, i int, pt *rlwe.Plaintext) error {
		lo, hi := i*per, min((i+1)*per, len(a))
		return w.encodeSlots(p.params, a[lo:hi], b[lo:hi], nil, math.Exp2(encodeLogScale), pt)
	})
}

// EncryptCoeffs encrypts real values in the Coeff layout, chunk values per
// ciphertext in coefficients 0..chunk-1 (the rest are zero).
func (p *Party) EncryptCoeffs(values []float64, chunk int) (*Vector, error) {
	if chunk < 1 || chunk > p.params.N() {
		return nil, fmt.Errorf("%w: chunk %d outside [1, %d]", ErrLayout, chunk, p.params.N())
	}
	v := &Vector{Layout: Coeff, Len: len(values), Chunk: chunk, Cts: make([]*rlwe.Ciphertext, (len(values)+chunk-1)/chunk)}
	return v, p.encryptChunks(v, p.params.MaxLevel(), func(w worker, i int, pt *rlwe.Plaintext) error {
		lo, hi := i*chunk, min((i+1)*chunk, len(values))
		return w.encodeCoeffs(p.params, values[lo:hi], math.Exp2(encodeLogScale), pt)
	})
}

// encodeLogScale is the scale at which values are encoded before being lifted
// to the set's scale by an exact multiplication with a power of two: encoding
// directly at 2^80 or more would send every coefficient through lattigo's
// arbitrary-precision path, several times slower. Values keep 2^-40 relative
// precision, far below the flooding noise.
const encodeLogScale = 40

func (p *Party) encryptChunks(v *Vector, level int, encode func(w worker, i int, pt *rlwe.Plaintext) error) error {
	if level < 0 || level > p.params.MaxLevel() {
		return fmt.Errorf("he: encryption level %d outside [0, %d]", level, p.params.MaxLevel())
	}
	errs := make([]error, len(v.Cts))
	lift := p.params.set.LogScale - encodeLogScale
	parallelFor(len(v.Cts), func(lo, hi int) {
		// No evaluator: its buffers cost more to allocate than a small
		// vector costs to encrypt.
		w := worker{enc: p.encoder.ShallowCopy(), encr: p.encryptor.ShallowCopy(), cbuf: make([]complex128, p.params.Slots())}
		pt := ckks.NewPlaintext(p.params.ckks, level)
		for i := lo; i < hi; i++ {
			if errs[i] = encode(w, i, pt); errs[i] != nil {
				return
			}
			liftPow2(p.params.ckks.RingQ().AtLevel(pt.Level()), pt.Value, int(lift))
			pt.Scale = p.params.Scale()
			ct := rlwe.NewCiphertext(p.params.ckks, 1, level)
			if errs[i] = w.encr.Encrypt(pt, ct); errs[i] != nil {
				return
			}
			v.Cts[i] = ct
		}
	})
	return errors.Join(errs...)
}

// DropToDecryptLevel lowers every ciphertext of v to the parameter set's
// decryption level, the cheapest level to send and decrypt: fewer moduli to
// carry and to compute over. Dropping keeps the scale and only discards
// moduli.
func (p *Party) DropToDecryptLevel(v *Vector) {
	for _, ct := range v.Cts {
		if ct.Level() > p.params.set.DecryptLevel {
			ct.Resize(ct.Degree(), p.params.set.DecryptLevel)
		}
	}
}

// liftPow2 multiplies pol by 2^bits exactly, in steps the ring's scalar
// multiplication takes.
func liftPow2(r *ring.Ring, pol ring.Poly, bits int) {
	for bits > 0 {
		step := min(bits, 48)
		r.MulScalar(pol, 1<<uint(step), pol)
		bits -= step
	}
}

// Add returns a + b for two vectors of one layout, length and level.
func (p *Party) Add(a, b *Vector) (*Vector, error) {
	if err := a.check(p.params); err != nil {
		return nil, err
	}
	if err := b.check(p.params); err != nil {
		return nil, err
	}
	if a.Layout != b.Layout || a.Len != b.Len || a.Chunk != b.Chunk || a.Stride != b.Stride {
		return nil, fmt.Errorf("%w: adding a %s vector of %d values to a %s vector of %d", ErrShape, a.Layout, a.Len, b.Layout, b.Len)
	}
	out := &Vector{Layout: a.Layout, Len: a.Len, Chunk: a.Chunk, Stride: a.Stride, Cts: make([]*rlwe.Ciphertext, len(a.Cts))}
	eval := p.evaluator.ShallowCopy()
	for i := range a.Cts {
		ct, err := eval.AddNew(a.Cts[i], b.Cts[i])
		if err != nil {
			return nil, err
		}
		out.Cts[i] = ct
	}
	return out, nil
}

// SumChunks returns a one-ciphertext SlotReal vector of Slots() values whose
// slot j is the sum of slot j of all of v's ciphertexts (v SlotReal, one
// level and scale).
func (p *Party) SumChunks(v *Vector) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotReal {
		return nil, fmt.Errorf("%w: summing the chunks of a %s vector", ErrLayout, v.Layout)
	}
	eval := p.evaluator.ShallowCopy()
	sum := v.Cts[0].CopyNew()
	for _, ct := range v.Cts[1:] {
		if err := eval.Add(sum, ct, sum); err != nil {
			return nil, err
		}
	}
	return &Vector{Layout: SlotReal, Len: p.params.Slots(), Cts: []*rlwe.Ciphertext{sum}}, nil
}
