package he

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Rounded wire forms. A polynomial's low bits are noise wherever the
// receiver's use of it tolerates a bounded error, and then they need not
// travel: the sender writes each coefficient (in the coefficient domain) as
// its integer x in [0, Q) rounded to a multiple of 2^drop, x' = 2^drop
// round(x / 2^drop) modulo Q, in the bits of round(x / 2^drop) alone, and
// the receiver reads x' back (a value that rounds to Q is sent as 0, so
// every x' read back is below Q and the form is canonical). Each coefficient then carries an error
// x' - x (mod Q) in [-2^(drop-1), 2^(drop-1)]. Two uses, each with its own
// bound on drop:
//
//   - A histogram's input (MarshalSeededVectorRounded): the bank's seeded
//     gradients. The rounding error is a fresh error the bank knows, as it
//     knows its encryption error, so it enters the histogram noise bound
//     that the flooding hides (histNoiseSigma's fresh term, bounded terms
//     e + delta); HistInputDropBits picks the most bits that keep the
//     level's bound within the set's LogNoiseBound, and the center refuses
//     more (its flooding is sized from that bound).
//   - The c1 components of a partial decryption (MarshalVectorC1Rounded):
//     the peer multiplies them by its key share s, so the error becomes
//     s*delta, about 2^(drop + 4.4) at Hist13, which C1DropBits keeps 2^5
//     below the flooding (a 0.1% increase of the decrypted values' noise
//     variance). The peer's view is a function of what it would receive
//     unrounded, so it learns no more.
//
// Either way the sender's message is a function of the exact one: rounding
// reveals nothing the exact form does not. The forms serve levels of one or
// two primes (Q < 2^128: Hist13 and the decryption levels of every named
// set); MarshalSeededVectorRounded and MarshalVectorC1Rounded refuse more.

const (
	kindSeededVectorRounded byte = 26
	kindVectorC1Rounded     byte = 27
)

func init() {
	kindNames[kindSeededVectorRounded] = "rounded seeded vector"
	kindNames[kindVectorC1Rounded] = "vector's rounded c1 components"
}

// roundCodec writes and reads the coefficients of polynomials modulo one or
// two primes rounded by drop bits.
type roundCodec struct {
	moduli []uint64
	brc    [][]uint64
	inv    uint64 // q0^-1 mod q1
	pow64  []uint64
	drop   uint
	// top is the largest rounded value, (Q - 1) >> drop, and width its bit
	// length: the bits of each coefficient on the wire.
	topHi, topLo uint64
	width        uint
}

func newRoundCodec(moduli []uint64, drop int) (*roundCodec, error) {
	if len(moduli) < 1 || len(moduli) > 2 {
		return nil, fmt.Errorf("%w: rounded forms take 1 or 2 primes, not %d", ErrShape, len(moduli))
	}
	qHi, qLo := uint64(0), moduli[0]
	if len(moduli) == 2 {
		qHi, qLo = bits.Mul64(moduli[0], moduli[1])
	}
	logQ := uint(bits.Len64(qHi)) + 64
	if qHi == 0 {
		logQ = uint(bits.Len64(qLo))
	}
	if drop < 0 || uint(drop) >= logQ {
		return nil, fmt.Errorf("%w: rounding %d bits of a %d-bit modulus", ErrShape, drop, logQ)
	}
	c := &roundCodec{moduli: moduli, drop: uint(drop)}
	for _, q := range moduli {
		c.brc = append(c.brc, ring.BRedConstant(q))
		// 2^64 mod q: (2^64 - q) mod q, as 2^64 - q fits in 64 bits.
		c.pow64 = append(c.pow64, ring.BRedAdd(-q, q, ring.BRedConstant(q)))
	}
	if len(moduli) == 2 {
		c.inv = ring.ModExp(ring.BRedAdd(moduli[0], moduli[1], c.brc[1]), moduli[1]-2, moduli[1])
	}
	// top = (Q - 1) >> drop.
	hi, lo := qHi, qLo-1
	if qLo == 0 {
		hi--
	}
	c.topHi, c.topLo = shr128(hi, lo, c.drop)
	c.width = uint(bits.Len64(c.topLo))
	if c.topHi != 0 {
		c.width = 64 + uint(bits.Len64(c.topHi))
	}
	return c, nil
}

// half returns 2^(drop-1) as a 128-bit integer (0 for no drop).
func (c *roundCodec) half() (uint64, uint64) {
	if c.drop == 0 {
		return 0, 0
	}
	return shl128(0, 1, c.drop-1)
}

// add128 returns (hi, lo) + (h2, l2) modulo 2^128.
func add128(hi, lo uint64, h2, l2 uint64) (uint64, uint64) {
	lo, carry := bits.Add64(lo, l2, 0)
	return hi + h2 + carry, lo
}

// shr128 and shl128 shift a 128-bit integer (hi, lo) by s < 128 bits.
func shr128(hi, lo uint64, s uint) (uint64, uint64) {
	switch {
	case s == 0:
		return hi, lo
	case s < 64:
		return hi >> s, lo>>s | hi<<(64-s)
	default:
		return 0, hi >> (s - 64)
	}
}

func shl128(hi, lo uint64, s uint) (uint64, uint64) {
	switch {
	case s == 0:
		return hi, lo
	case s < 64:
		return hi<<s | lo>>(64-s), lo << s
	default:
		return lo << (s - 64), 0
	}
}

// bytes is the size of one polynomial of n coefficients.
func (c *roundCodec) bytes(n int) int { return (n*int(c.width) + 7) / 8 }

// appendPoly writes p (coefficient domain, every coefficient reduced)
// rounded.
func (c *roundCodec) appendPoly(b []byte, p ring.Poly) []byte {
	w := bitWriter{b: b}
	halfHi, halfLo := c.half()
	for j := range p.Coeffs[0] {
		r0 := p.Coeffs[0][j]
		if q0 := c.moduli[0]; r0 >= q0 {
			r0 = ring.BRedAdd(r0, q0, c.brc[0])
		}
		hi, lo := uint64(0), r0
		if len(c.moduli) == 2 {
			// x = r0 + q0 ((r1 - r0) q0^-1 mod q1), in [0, q0 q1).
			q0, q1 := c.moduli[0], c.moduli[1]
			r1 := ring.BRedAdd(p.Coeffs[1][j], q1, c.brc[1])
			d := r1 + q1 - ring.BRedAdd(r0, q1, c.brc[1])
			if d >= q1 {
				d -= q1
			}
			hi, lo = bits.Mul64(q0, ring.BRed(d, c.inv, q1, c.brc[1]))
			hi, lo = add128(hi, lo, 0, r0)
		}
		hi, lo = add128(hi, lo, halfHi, halfLo)
		hi, lo = shr128(hi, lo, c.drop)
		if hi > c.topHi || (hi == c.topHi && lo > c.topLo) {
			// x within 2^(drop-1) below Q: it rounds to Q, that is 0, so
			// that every value read back is below Q and rounds to itself.
			hi, lo = 0, 0
		}
		if c.width > 64 {
			w.put(lo, 64)
			w.put(hi, c.width-64)
		} else {
			w.put(lo, c.width)
		}
	}
	return w.flush()
}

// readPoly fills p (coefficient domain) from exactly c.bytes(N) bytes.
func (c *roundCodec) readPoly(src []byte, p ring.Poly, what string) error {
	if len(src) != c.bytes(p.N()) {
		return fmt.Errorf("%w: %s has %d bytes of rounded coefficients, want %d", ErrMalformed, what, len(src), c.bytes(p.N()))
	}
	r := bitReader{b: src}
	for j := range p.Coeffs[0] {
		var hi, lo uint64
		if c.width > 64 {
			lo = r.get(64)
			hi = r.get(c.width - 64)
		} else {
			lo = r.get(c.width)
		}
		if hi > c.topHi || (hi == c.topHi && lo > c.topLo) {
			return fmt.Errorf("%w: %s has a rounded coefficient past its modulus", ErrMalformed, what)
		}
		hi, lo = shl128(hi, lo, c.drop)
		for l, q := range c.moduli {
			x := ring.BRed(ring.BRedAdd(hi, q, c.brc[l]), c.pow64[l], q, c.brc[l]) + ring.BRedAdd(lo, q, c.brc[l])
			if x >= q {
				x -= q
			}
			p.Coeffs[l][j] = x
		}
	}
	if r.pos%8 != 0 && src[len(src)-1]>>(r.pos%8) != 0 {
		return fmt.Errorf("%w: %s has nonzero padding bits", ErrMalformed, what)
	}
	return nil
}

// bitWriter appends values of up to 64 bits to a little-endian bit stream.
type bitWriter struct {
	b    []byte
	acc  uint64
	have uint
}

func (w *bitWriter) put(v uint64, n uint) {
	if n < 64 {
		v &= 1<<n - 1
	}
	w.acc |= v << w.have
	if w.have+n >= 64 {
		w.b = appendU64(w.b, w.acc)
		used := 64 - w.have
		w.acc = 0
		if used < 64 {
			w.acc = v >> used
		}
		w.have = w.have + n - 64
	} else {
		w.have += n
	}
}

func (w *bitWriter) flush() []byte {
	for ; w.have > 0; w.have = max(w.have, 8) - 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
	}
	return w.b
}

// bitReader reads what bitWriter wrote.
type bitReader struct {
	b   []byte
	pos uint
}

func (r *bitReader) get(n uint) uint64 {
	v := bitsAt(r.b, r.pos)
	r.pos += n
	if n < 64 {
		v &= 1<<n - 1
	}
	return v
}

// HistInputDropBits returns the most low bits of each c0 coefficient of
// the bank's seeded histogram inputs that may be rounded off on the wire
// (MarshalSeededVectorRounded) for histograms whose groups hold at most
// rows values, in input chunks of chunk values, for bins bins: the largest
// drop that keeps the histogram noise bound (HistNoiseBound's, for this
// chunk and packing) within the set's LogNoiseBound, which its flooding is
// sized from. 0 when no bit may go, or rows exceed the set's MaxRows.
func HistInputDropBits(p Params, rows, chunk, bins int) int {
	if rows < 1 || rows > p.set.MaxRows || chunk < 1 || chunk > p.N() || bins < 1 {
		return 0
	}
	L := histRounds(p, bins)
	limit := p.set.LogNoiseBound - math.Log2(tailFactor(p.set.LogMaxDecrypted))
	drop := 0
	for d := 1; d < 60; d++ {
		if math.Log2(histNoiseSigmaDrop(p, rows, chunk, L, d)) > limit {
			break
		}
		drop = d
	}
	return drop
}

// histRounds is the packing's rounds for bins bins, log2 of the stride:
// the worse of the two chunks a stride takes (HistNoiseBound).
func histRounds(p Params, bins int) int { return bits.Len(uint(histStride(p, bins))) - 1 }

// C1DropBits returns the low bits of each c1 coefficient a helper rounds
// off when it sends a vector's c1 components for a partial decryption
// (MarshalVectorC1Rounded): the peer's key share s (ternary, P(+-1) = 1/3
// each) times the rounding error (uniform in [-2^(drop-1), 2^(drop-1)])
// has standard deviation 2^drop sqrt(N (2/3) / 12), which the drop keeps
// at least 2^5 below the flooding's sigma.
func C1DropBits(p Params) int {
	spread := math.Log2(math.Sqrt(float64(p.N()) * (secretVar / 2) / 12))
	return max(0, int(math.Floor(p.set.LogFlood()-5-spread)))
}

// MarshalSeededVectorRounded encodes sv as MarshalSeededVectorPacked does,
// with the low drop bits of every c0 coefficient rounded off (see the
// rounded forms above; HistInputDropBits bounds drop for histogram
// inputs). sv is not modified.
func (p Params) MarshalSeededVectorRounded(sv *SeededVector, drop int) ([]byte, error) {
	if err := sv.check(p); err != nil {
		return nil, err
	}
	level := p.MaxLevel()
	codec, err := newRoundCodec(p.ckks.Q()[:level+1], drop)
	if err != nil {
		return nil, err
	}
	b := p.header(kindSeededVectorRounded)
	b = appendU64(b, uint64(sv.Len))
	b = appendU32(b, uint32(sv.Chunk))
	b = appendU32(b, uint32(len(sv.C0)))
	b = append(b, byte(drop))
	b = append(b, sv.Seed[:]...)
	rq := p.ckks.RingQ().AtLevel(level)
	coeffs := rq.NewPoly()
	for _, c0 := range sv.C0 {
		rq.INTT(c0, coeffs)
		b = codec.appendPoly(b, coeffs)
	}
	return b, nil
}

// UnmarshalSeededVectorRounded decodes a seeded vector encoded by
// MarshalSeededVectorRounded under the same parameters; its Dropped field
// says how many bits were rounded off, for the receiver to check against
// what it allows (HistInputDropBits).
func (p Params) UnmarshalSeededVectorRounded(data []byte) (*SeededVector, error) {
	what := kindNames[kindSeededVectorRounded]
	rest, err := p.readHeader(data, kindSeededVectorRounded)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	sv := &SeededVector{Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32())}
	nct := int(r.u32())
	sv.Dropped = int(r.u8())
	copy(sv.Seed[:], r.take(len(sv.Seed)))
	if r.err != nil {
		return nil, fmt.Errorf("%s header: %w", what, r.err)
	}
	level := p.MaxLevel()
	codec, err := newRoundCodec(p.ckks.Q()[:level+1], sv.Dropped)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	rq := p.ckks.RingQ().AtLevel(level)
	per := codec.bytes(p.N())
	if nct > len(r.b)/per {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	for i := 0; i < nct; i++ {
		c0 := rq.NewPoly()
		if err := codec.readPoly(r.take(per), c0, fmt.Sprintf("%s ciphertext %d", what, i)); err != nil {
			return nil, err
		}
		rq.NTT(c0, c0)
		sv.C0 = append(sv.C0, c0)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the %s", ErrMalformed, len(r.b), what)
	}
	if err := sv.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return sv, nil
}

// MarshalVectorC1Rounded encodes the c1 components of v as MarshalVectorC1
// does, with the low C1DropBits(p) bits of every coefficient rounded off,
// for a peer that decrypts v with a partial decryption (DecryptPartial).
// Every ciphertext must be at a level of one or two primes.
func (p Params) MarshalVectorC1Rounded(v *Vector) ([]byte, error) {
	if err := v.check(p); err != nil {
		return nil, err
	}
	drop := C1DropBits(p)
	b := p.header(kindVectorC1Rounded)
	b = append(b, byte(v.Layout))
	b = appendU64(b, uint64(v.Len))
	b = appendU32(b, uint32(v.Chunk))
	b = appendU32(b, uint32(v.Stride))
	b = appendU32(b, uint32(len(v.Cts)))
	b = append(b, byte(drop))
	for i, ct := range v.Cts {
		level := ct.Level()
		codec, err := newRoundCodec(p.ckks.Q()[:level+1], drop)
		if err != nil {
			return nil, fmt.Errorf("ciphertext %d: %w", i, err)
		}
		rq := p.ckks.RingQ().AtLevel(level)
		c1 := ct.Value[1]
		if ct.IsNTT {
			c1 = rq.NewPoly()
			rq.INTT(ct.Value[1], c1)
		}
		b = append(b, byte(level))
		b = appendU64(b, math.Float64bits(ct.Scale.Float64()))
		b = codec.appendPoly(b, c1)
	}
	return b, nil
}

// UnmarshalVectorC1Rounded decodes a message of MarshalVectorC1Rounded: a
// vector whose c0 components are zero, in the NTT domain. A message that
// rounded off more than C1DropBits(p) bits is refused: the decryption would
// lose precision the protocol counts on.
func (p Params) UnmarshalVectorC1Rounded(data []byte) (*Vector, error) {
	what := kindNames[kindVectorC1Rounded]
	rest, err := p.readHeader(data, kindVectorC1Rounded)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	v := &Vector{Layout: Layout(r.u8()), Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32()), Stride: int(r.u32())}
	nct := int(r.u32())
	drop := int(r.u8())
	if r.err != nil {
		return nil, fmt.Errorf("%s header: %w", what, r.err)
	}
	if allowed := C1DropBits(p); drop > allowed {
		return nil, fmt.Errorf("%w: %s rounded by %d bits, at most %d keep the decryption's precision", ErrMalformed, what, drop, allowed)
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return nil, fmt.Errorf("%w: %s in layout %s, want a coefficient layout", ErrMalformed, what, v.Layout)
	}
	// Every ciphertext takes at least a bit per coefficient.
	if minCt := 9 + p.N()/8; nct > len(r.b)/minCt {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	for i := 0; i < nct; i++ {
		level := int(r.u8())
		scale := math.Float64frombits(r.u64())
		if r.err != nil {
			return nil, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
		}
		if level > min(p.MaxLevel(), 1) {
			return nil, fmt.Errorf("%w: %s ciphertext %d at level %d, rounded forms hold levels 0 and 1", ErrMalformed, what, i, level)
		}
		if !(scale >= 1) || scale > math.Exp2(200) {
			return nil, fmt.Errorf("%w: %s ciphertext %d has scale %v", ErrMalformed, what, i, scale)
		}
		codec, err := newRoundCodec(p.ckks.Q()[:level+1], drop)
		if err != nil {
			return nil, fmt.Errorf("%w: %s ciphertext %d: %w", ErrMalformed, what, i, err)
		}
		ct := ckks.NewCiphertext(p.ckks, 1, level)
		ct.Scale = rlwe.NewScale(scale)
		ct.IsNTT, ct.IsBatched = true, false
		if err := codec.readPoly(r.take(codec.bytes(p.N())), ct.Value[1], fmt.Sprintf("%s ciphertext %d", what, i)); err != nil {
			if r.err != nil {
				return nil, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
			}
			return nil, err
		}
		p.ckks.RingQ().AtLevel(level).NTT(ct.Value[1], ct.Value[1])
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
