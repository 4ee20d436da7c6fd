package he

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Packed wire formats. MarshalVector and MarshalSeededShares spend 64 bits
// on every coefficient whatever its prime; the packed kinds below write each
// coefficient in exactly the bits of its prime (50 of 64 for most of
// Shared15's), as a little-endian bit stream per prime. Their decoders are
// as strict as the others: the length is exact for the announced shape and
// every coefficient must be reduced modulo its prime. A third kind carries
// only the c1 components of a vector (MarshalVectorC1), for protocols where
// the peer combines them with its own ciphertexts and the c0 components
// stay with their owner.
// The key generation's two rounds travel packed too (their kinds 1 and 4
// are no longer written or read: a peer of an earlier build is told the
// kind it sent).
const (
	kindVectorPacked byte = iota + 16
	kindSeededSharesPacked
	kindVectorC1
	kindKeyGenRound1Packed
	kindKeyGenRound2Packed
)

func init() {
	kindNames[kindVectorPacked] = "packed vector"
	kindNames[kindSeededSharesPacked] = "packed encrypted shares"
	kindNames[kindVectorC1] = "vector's c1 components"
	kindNames[kindKeyGenRound1Packed] = "key-generation round 1"
	kindNames[kindKeyGenRound2Packed] = "key-generation round 2"
}

// packedBytes is the size of fields written bit-packed.
func packedBytes(fields []polyField) int {
	n := 0
	for _, f := range fields {
		for i, row := range f.p.Coeffs {
			n += (len(row)*bits.Len64(f.moduli[i]-1) + 7) / 8
		}
	}
	return n
}

// appendPacked writes the coefficients of fields, reduced modulo their
// primes, each in the bit length of its prime.
func appendPacked(b []byte, fields []polyField) []byte {
	for _, f := range fields {
		for i, row := range f.p.Coeffs {
			q := f.moduli[i]
			w := uint(bits.Len64(q - 1))
			brc := ring.BRedConstant(q)
			var acc uint64
			var have uint
			for _, c := range row {
				if c >= q {
					c = ring.BRedAdd(c, q, brc)
				}
				acc |= c << have
				if have+w >= 64 {
					b = append(b, byte(acc), byte(acc>>8), byte(acc>>16), byte(acc>>24), byte(acc>>32), byte(acc>>40), byte(acc>>48), byte(acc>>56))
					used := 64 - have
					if used < 64 {
						acc = c >> used
					} else {
						acc = 0
					}
					have = have + w - 64
				} else {
					have += w
				}
			}
			for ; have > 0; have = max(have, 8) - 8 {
				b = append(b, byte(acc))
				acc >>= 8
			}
		}
	}
	return b
}

// readPacked fills fields from exactly packedBytes(fields) bytes of b.
func readPacked(b []byte, fields []polyField, what string) error {
	if len(b) != packedBytes(fields) {
		return fmt.Errorf("%w: %s has %d bytes of packed coefficients, want %d", ErrMalformed, what, len(b), packedBytes(fields))
	}
	off := 0
	for _, f := range fields {
		for i, row := range f.p.Coeffs {
			q := f.moduli[i]
			w := uint(bits.Len64(q - 1))
			size := (len(row)*int(w) + 7) / 8
			src := b[off : off+size]
			off += size
			mask := uint64(1)<<w - 1
			pos := uint(0)
			for j := range row {
				c := bitsAt(src, pos) & mask
				if c >= q {
					return fmt.Errorf("%w: %s has a coefficient not reduced modulo its prime", ErrMalformed, what)
				}
				row[j] = c
				pos += w
			}
			if pos%8 != 0 && src[len(src)-1]>>(pos%8) != 0 {
				return fmt.Errorf("%w: %s has nonzero padding bits", ErrMalformed, what)
			}
		}
	}
	return nil
}

// bitsAt returns the 64 bits of src from bit pos on, little-endian, zeros
// past the end.
func bitsAt(src []byte, pos uint) uint64 {
	var buf [9]byte
	copy(buf[:], src[pos/8:])
	s := pos % 8
	return binary.LittleEndian.Uint64(buf[:8])>>s | uint64(buf[8])<<(64-s)
}

// MarshalVectorPacked encodes v for the wire with each coefficient in the
// bits of its prime: what MarshalVector says, in fewer bytes.
func (p Params) MarshalVectorPacked(v *Vector) ([]byte, error) {
	return p.marshalVectorPacked(v, kindVectorPacked, true)
}

// MarshalVectorC1 encodes only the c1 components of v (packed), for a peer
// that combines them with ciphertexts of its own (see Party.OpenToPeer and
// ReceiveOpenedSum): the c0 components stay with v's owner.
func (p Params) MarshalVectorC1(v *Vector) ([]byte, error) {
	return p.marshalVectorPacked(v, kindVectorC1, false)
}

func (p Params) marshalVectorPacked(v *Vector, kind byte, c0 bool) ([]byte, error) {
	if err := v.check(p); err != nil {
		return nil, err
	}
	b := p.header(kind)
	b = append(b, byte(v.Layout))
	b = appendU64(b, uint64(v.Len))
	b = appendU32(b, uint32(v.Chunk))
	b = appendU32(b, uint32(v.Stride))
	b = appendU32(b, uint32(len(v.Cts)))
	for _, ct := range v.Cts {
		b = append(b, byte(ct.Level()))
		b = appendU64(b, math.Float64bits(ct.Scale.Float64()))
		fields := []polyField{p.qField(ct.Value[1])}
		if c0 {
			fields = []polyField{p.qField(ct.Value[0]), p.qField(ct.Value[1])}
		}
		b = appendPacked(b, fields)
	}
	return b, nil
}

// UnmarshalVectorPacked decodes a vector encoded by MarshalVectorPacked
// under the same parameters.
func (p Params) UnmarshalVectorPacked(data []byte) (*Vector, error) {
	return p.unmarshalVectorPacked(data, kindVectorPacked, true)
}

// UnmarshalVectorC1 decodes a message of MarshalVectorC1: a vector whose
// c0 components are zero.
func (p Params) UnmarshalVectorC1(data []byte) (*Vector, error) {
	return p.unmarshalVectorPacked(data, kindVectorC1, false)
}

func (p Params) unmarshalVectorPacked(data []byte, kind byte, c0 bool) (*Vector, error) {
	what := kindNames[kind]
	rest, err := p.readHeader(data, kind)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	v := &Vector{Layout: Layout(r.u8()), Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32()), Stride: int(r.u32())}
	nct := int(r.u32())
	if r.err != nil {
		return nil, fmt.Errorf("%s header: %w", what, r.err)
	}
	polys := 1
	if c0 {
		polys = 2
	}
	// The smallest ciphertext: level 0, its first prime's bits.
	minCt := 9 + polys*packedBytes([]polyField{{p.ckks.RingQ().AtLevel(0).NewPoly(), p.ckks.Q()[:1]}})
	if nct > len(r.b)/minCt {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	batched := v.Layout == SlotReal || v.Layout == SlotComplex || v.Layout == SlotSplit
	for i := 0; i < nct; i++ {
		level := int(r.u8())
		scale := math.Float64frombits(r.u64())
		if r.err != nil {
			return nil, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
		}
		if level > p.MaxLevel() {
			return nil, fmt.Errorf("%w: %s ciphertext %d at level %d, parameters top out at %d", ErrMalformed, what, i, level, p.MaxLevel())
		}
		if !(scale >= 1) || scale > math.Exp2(200) {
			return nil, fmt.Errorf("%w: %s ciphertext %d has scale %v", ErrMalformed, what, i, scale)
		}
		ct := ckks.NewCiphertext(p.ckks, 1, level)
		ct.Scale = rlwe.NewScale(scale)
		ct.IsNTT, ct.IsBatched = true, batched
		if batched {
			ct.LogDimensions = p.ckks.LogMaxDimensions()
		}
		fields := []polyField{p.qField(ct.Value[1])}
		if c0 {
			fields = []polyField{p.qField(ct.Value[0]), p.qField(ct.Value[1])}
		}
		if err := readPacked(r.take(packedBytes(fields)), fields, fmt.Sprintf("%s ciphertext %d", what, i)); err != nil {
			if r.err != nil {
				return nil, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
			}
			return nil, err
		}
		v.Cts = append(v.Cts, ct)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the %s", ErrMalformed, len(r.b), what)
	}
	if err := v.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return v, nil
}

// MarshalSeededSharesPacked encodes encrypted shares as
// MarshalSeededShares does, with each coefficient in the bits of its prime.
func (p Params) MarshalSeededSharesPacked(ss *SeededShares) ([]byte, error) {
	if err := ss.checkShape(p); err != nil {
		return nil, err
	}
	b := p.header(kindSeededSharesPacked)
	b = appendLayout(b, ss.Layout, ss.Len, ss.Chunk, ss.Stride, ss.Scale, len(ss.C0))
	b = append(b, byte(ss.Level))
	b = append(b, ss.Seed[:]...)
	for _, c0 := range ss.C0 {
		if c0.Level() != ss.Level {
			return nil, fmt.Errorf("%w: encrypted share at level %d, want %d", ErrShares, c0.Level(), ss.Level)
		}
		b = appendPacked(b, []polyField{p.qField(c0)})
	}
	return b, nil
}

// UnmarshalSeededSharesPacked decodes encrypted shares encoded by
// MarshalSeededSharesPacked under the same parameters.
func (p Params) UnmarshalSeededSharesPacked(data []byte) (*SeededShares, error) {
	rest, err := p.readHeader(data, kindSeededSharesPacked)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	ss := &SeededShares{}
	var n int
	ss.Layout, ss.Len, ss.Chunk, ss.Stride, ss.Scale, n = r.layout()
	ss.Level = int(r.u8())
	copy(ss.Seed[:], r.take(len(ss.Seed)))
	if r.err != nil {
		return nil, fmt.Errorf("packed encrypted shares header: %w", r.err)
	}
	if ss.Level > p.MaxLevel() {
		return nil, fmt.Errorf("%w: encrypted shares at level %d, parameters top out at %d", ErrMalformed, ss.Level, p.MaxLevel())
	}
	rq := p.ckks.RingQ().AtLevel(ss.Level)
	per := packedBytes([]polyField{{rq.NewPoly(), p.ckks.Q()[:ss.Level+1]}})
	if n > len(r.b)/per {
		return nil, fmt.Errorf("%w: encrypted shares announce %d polynomials in %d bytes", ErrMalformed, n, len(r.b))
	}
	for i := 0; i < n; i++ {
		c0 := rq.NewPoly()
		if err := readPacked(r.take(per), []polyField{p.qField(c0)}, fmt.Sprintf("encrypted share %d", i)); err != nil {
			return nil, err
		}
		ss.C0 = append(ss.C0, c0)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the encrypted shares", ErrMalformed, len(r.b))
	}
	if err := ss.checkShape(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return ss, nil
}

func appendU64(b []byte, x uint64) []byte {
	return append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24), byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56))
}

func appendU32(b []byte, x uint32) []byte {
	return append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
}

// ReceiveOpenedSum turns the peer's OpenToPeer message into this party's
// share when the peer opened the sum of its own ciphertexts and this
// party's own, of which this party sent only the c1 components
// (MarshalVectorC1) and kept the c0 components: the peer's message then
// carries c1 of the whole sum and lacks own's c0, which this party adds
// before it takes its share. The share is that of ReceiveOpened on the sum
// opened whole; the peer never held own's c0.
func (p *Party) ReceiveOpenedSum(msg, own *Vector) (*SharedVector, error) {
	if err := msg.check(p.params); err != nil {
		return nil, err
	}
	if err := own.check(p.params); err != nil {
		return nil, err
	}
	if msg.Layout != own.Layout || msg.Len != own.Len || msg.Chunk != own.Chunk || msg.Stride != own.Stride || len(msg.Cts) != len(own.Cts) {
		return nil, fmt.Errorf("%w: an opening of %d ciphertexts (%s, %d values) for a sum with %d (%s, %d values)", ErrShares, len(msg.Cts), msg.Layout, msg.Len, len(own.Cts), own.Layout, own.Len)
	}
	sum := &Vector{Layout: msg.Layout, Len: msg.Len, Chunk: msg.Chunk, Stride: msg.Stride, Cts: make([]*rlwe.Ciphertext, len(msg.Cts))}
	for i, ct := range msg.Cts {
		o := own.Cts[i]
		if ct.Level() != o.Level() || ct.Scale.Float64() != o.Scale.Float64() {
			return nil, fmt.Errorf("%w: opening %d at level %d and scale 2^%.2f, own part at level %d and scale 2^%.2f", ErrShares, i, ct.Level(), math.Log2(ct.Scale.Float64()), o.Level(), math.Log2(o.Scale.Float64()))
		}
		c := ct.CopyNew()
		p.params.ckks.RingQ().AtLevel(ct.Level()).Add(c.Value[0], o.Value[0], c.Value[0])
		sum.Cts[i] = c
	}
	return p.ReceiveOpened(sum)
}
