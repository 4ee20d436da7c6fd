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
// every x' read back is below Q and the form is canonical). Each
// coefficient then carries an error x' - x (mod Q) in [-2^(drop-1),
// 2^(drop-1)]. Three uses, each with its own bound on drop, which the
// receiver enforces:
//
//   - A histogram's input (MarshalSeededVectorRounded): the bank's seeded
//     gradients. The rounding error is a fresh error the bank knows, as it
//     knows its encryption error, so it enters the histogram noise bound
//     that the flooding hides (histNoiseSigma's fresh term, bounded terms
//     e + delta); HistInputDropBits picks the most bits that keep the
//     level's bound within the set's LogNoiseBound, which the flooding is
//     sized from.
//   - The c1 components of a partial decryption (MarshalVectorC1Rounded):
//     the peer multiplies them by its key share s, so the error becomes
//     s*delta, about 2^(drop + 4.4) at Hist13, which C1DropBits keeps 2^5
//     below the flooding (a 0.1% increase of the decrypted values' noise
//     variance).
//   - Slot-encoded vectors, shares and sums (MarshalVectorRounded,
//     MarshalSeededSharesRounded; package vlr's epochs, joint's loss sums):
//     SlotDropBits keeps each slot's error within 2^-45 of the values'
//     unit at one standard deviation.
//
// In every case the sender's message is a function of the exact one: its
// receiver learns nothing the exact form would not tell it.

const (
	kindSeededVectorRounded byte = 26
	kindVectorRounded       byte = 27
	kindSeededSharesRounded byte = 28
)

func init() {
	kindNames[kindSeededVectorRounded] = "rounded seeded vector"
	kindNames[kindVectorRounded] = "rounded vector"
	kindNames[kindSeededSharesRounded] = "rounded encrypted shares"
}

// roundCodec writes and reads the coefficients of polynomials modulo
// moduli, rounded by drop bits. Each coefficient's residues become its
// integer in [0, Q) by Garner's mixed-radix conversion, held in 64-bit
// limbs.
type roundCodec struct {
	moduli []uint64
	// Constants modulo q_i with their Shoup forms (mulShoup): 1, 2^64,
	// 2^drop, q_j (qmod[i][j]) and (q_0 ... q_{i-1})^-1 (garner[i]).
	one, pow64, powDrop, garner []shoup
	qmod                        [][]shoup
	drop                        uint
	// top is the largest rounded value, (Q - 1) >> drop, and width its bit
	// length: the bits of each coefficient on the wire; half is 2^(drop-1).
	top, half []uint64
	width     uint
}

func newRoundCodec(moduli []uint64, drop int) (*roundCodec, error) {
	if len(moduli) < 1 {
		return nil, fmt.Errorf("%w: a rounded form of no prime", ErrShape)
	}
	k := len(moduli)
	c := &roundCodec{moduli: moduli, qmod: make([][]shoup, k)}
	for i, q := range moduli {
		if q >= 1<<62 {
			return nil, fmt.Errorf("%w: a %d-bit prime in a rounded form", ErrShape, bits.Len64(q))
		}
		brc := ring.BRedConstant(q)
		c.one = append(c.one, newShoup(1, q))
		// 2^64 mod q: (2^64 - q) mod q, as 2^64 - q fits in 64 bits.
		c.pow64 = append(c.pow64, newShoup(ring.BRedAdd(-q, q, brc), q))
		c.powDrop = append(c.powDrop, newShoup(ring.ModExp(2, uint64(max(drop, 0)), q), q))
		c.qmod[i] = make([]shoup, k)
		prod := uint64(1)
		for j, qj := range moduli {
			c.qmod[i][j] = newShoup(ring.BRedAdd(qj, q, brc), q)
			if j < i {
				prod = ring.BRed(prod, c.qmod[i][j].w, q, brc)
			}
		}
		c.garner = append(c.garner, newShoup(ring.ModExp(prod, q-2, q), q))
	}
	// Q, in k + 1 limbs (room for adding half).
	Q := make([]uint64, k+1)
	Q[0] = 1
	for _, q := range moduli {
		mulAddNat(Q, q, 0)
	}
	logQ := natLen(Q)
	if drop < 0 || drop >= logQ {
		return nil, fmt.Errorf("%w: rounding %d bits of a %d-bit modulus", ErrShape, drop, logQ)
	}
	c.drop = uint(drop)
	c.top = append([]uint64(nil), Q...)
	subOneNat(c.top)
	shrNat(c.top, c.drop)
	c.width = uint(natLen(c.top))
	c.half = make([]uint64, k+1)
	if drop > 0 {
		c.half[(drop-1)/64] = 1 << ((drop - 1) % 64)
	}
	return c, nil
}

// shoup is a constant w modulo q with its Shoup form floor(w 2^64 / q).
type shoup struct{ w, s uint64 }

func newShoup(w, q uint64) shoup {
	s, _ := bits.Div64(w, 0, q)
	return shoup{w, s}
}

// mulShoup returns x*c.w mod q for any x (q < 2^62, c.w < q): one high
// product for the quotient's estimate, which is at most one short.
func mulShoup(x uint64, c shoup, q uint64) uint64 {
	hi, _ := bits.Mul64(x, c.s)
	r := x*c.w - hi*q
	if r >= q {
		r -= q
	}
	return r
}

// mulAddNat sets x = x*m + a (x has room for the result).
func mulAddNat(x []uint64, m, a uint64) {
	carry := a
	for i := range x {
		hi, lo := bits.Mul64(x[i], m)
		var c uint64
		x[i], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
}

// addNat sets x += y (same length, no overflow).
func addNat(x, y []uint64) {
	var c uint64
	for i := range x {
		x[i], c = bits.Add64(x[i], y[i], c)
	}
}

func subOneNat(x []uint64) {
	for i := range x {
		x[i]--
		if x[i] != math.MaxUint64 {
			return
		}
	}
}

// shrNat shifts x right by s bits in place.
func shrNat(x []uint64, s uint) {
	w, b := int(s/64), s%64
	for i := range x {
		var v uint64
		if i+w < len(x) {
			v = x[i+w] >> b
			if b > 0 && i+w+1 < len(x) {
				v |= x[i+w+1] << (64 - b)
			}
		}
		x[i] = v
	}
}

// cmpNat compares x and y (same length).
func cmpNat(x, y []uint64) int {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// natLen is the bit length of x.
func natLen(x []uint64) int {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != 0 {
			return 64*i + bits.Len64(x[i])
		}
	}
	return 0
}

// bytes is the size of one polynomial of n coefficients.
func (c *roundCodec) bytes(n int) int { return (n*int(c.width) + 7) / 8 }

// appendRange writes coefficients [lo, hi) of p rounded; when (hi - lo)
// width is a multiple of 8 it takes exactly those bits' bytes.
func (c *roundCodec) appendRange(b []byte, p ring.Poly, lo, hi int) []byte {
	k := len(c.moduli)
	w := bitWriter{b: b}
	v := make([]uint64, k)
	x := make([]uint64, k+1)
	for j := lo; j < hi; j++ {
		// Garner: x = v_0 + q_0 (v_1 + q_1 (v_2 + ...)).
		for i, q := range c.moduli {
			r := mulShoup(p.Coeffs[i][j], c.one[i], q)
			if i == 0 {
				v[0] = r
				continue
			}
			acc := mulShoup(v[i-1], c.one[i], q)
			for m := i - 2; m >= 0; m-- {
				acc = mulShoup(acc, c.qmod[i][m], q) + mulShoup(v[m], c.one[i], q)
				if acc >= q {
					acc -= q
				}
			}
			d := r + q - acc
			if d >= q {
				d -= q
			}
			v[i] = mulShoup(d, c.garner[i], q)
		}
		clear(x)
		x[0] = v[k-1]
		for m := k - 2; m >= 0; m-- {
			mulAddNat(x, c.moduli[m], v[m])
		}
		addNat(x, c.half)
		shrNat(x, c.drop)
		if cmpNat(x, c.top) > 0 {
			// x within 2^(drop-1) below Q: it rounds to Q, that is 0, so
			// that every value read back is below Q and rounds to itself.
			clear(x)
		}
		for n, l := c.width, 0; n > 0; l++ {
			take := min(n, 64)
			w.put(x[l], take)
			n -= take
		}
	}
	return w.flush()
}

// readRange fills coefficients [lo, hi) of p from src, which starts at
// coefficient lo's first bit.
func (c *roundCodec) readRange(src []byte, p ring.Poly, lo, hi int, what string) error {
	r := bitReader{b: src}
	x := make([]uint64, len(c.top))
	for j := lo; j < hi; j++ {
		clear(x)
		for n, l := c.width, 0; n > 0; l++ {
			take := min(n, 64)
			x[l] = r.get(take)
			n -= take
		}
		if cmpNat(x, c.top) > 0 {
			return fmt.Errorf("%w: %s has a rounded coefficient past its modulus", ErrMalformed, what)
		}
		// x 2^drop modulo each prime, by Horner over x's limbs.
		for i, q := range c.moduli {
			var acc uint64
			for l := int(c.width+63)/64 - 1; l >= 0; l-- {
				acc = mulShoup(acc, c.pow64[i], q) + mulShoup(x[l], c.one[i], q)
				if acc >= q {
					acc -= q
				}
			}
			p.Coeffs[i][j] = mulShoup(acc, c.powDrop[i], q)
		}
	}
	if r.pos%8 != 0 && src[r.pos/8]>>(r.pos%8) != 0 {
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

// SlotDropBits returns the low bits that may be rounded off the
// components of slot-encoded vectors at the parameters' scale: C0 for a
// component whose error adds to the plaintext (c0 of a ciphertext, the h
// of an opening, the c0 of encrypted shares), C1 for one the decryption
// multiplies by the collective key (c1). Each keeps every
// slot's rounding error at a standard deviation of at most 2^-45 of the
// values' unit: a coefficient error uniform in [-2^(t-1), 2^(t-1)] has
// variance 2^(2t)/12, the slots N times the coefficients' (he/doc.go), and
// a keyed one N (4/3) times more (the two ternary key shares). At
// Shared15's scale 2^90: 39 and 31 bits.
func SlotDropBits(p Params) Rounding {
	N := float64(p.N())
	budget := math.Log2(p.Scale().Float64()) - 45
	direct := math.Floor(budget - math.Log2(math.Sqrt(N/12)))
	keyed := math.Floor(budget - math.Log2(math.Sqrt(N*N*secretVar/12)))
	return Rounding{C0: max(int(direct), 0), C1: max(int(keyed), 0)}
}

// roundSegment is the coefficients of one task of appendPolys and
// readPolys: a multiple of 8, so that every segment starts on a byte.
const roundSegment = 1024

// appendPolys writes polys (at the codec's primes; from the NTT domain
// when ntt) rounded, each in c.bytes(N) bytes, in segments of
// roundSegment coefficients spread over the cores.
func (c *roundCodec) appendPolys(b []byte, rq *ring.Ring, polys []ring.Poly, ntt bool) []byte {
	N := rq.N()
	per := c.bytes(N)
	base := len(b)
	b = append(b, make([]byte, per*len(polys))...)
	src := polys
	if ntt {
		src = make([]ring.Poly, len(polys))
		parallelFor(len(polys), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				src[i] = rq.NewPoly()
				rq.INTT(polys[i], src[i])
			}
		})
	}
	segs := (N + roundSegment - 1) / roundSegment
	parallelFor(len(polys)*segs, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i, s := t/segs, t%segs
			at := base + i*per + s*roundSegment*int(c.width)/8
			c.appendRange(b[at:at], src[i], s*roundSegment, min((s+1)*roundSegment, N))
		}
	})
	return b
}

// readPolys reads n polynomials of appendPolys (at rq's level), in the NTT
// domain when ntt.
func (c *roundCodec) readPolys(src []byte, rq *ring.Ring, n int, ntt bool, what string) ([]ring.Poly, error) {
	N := rq.N()
	per := c.bytes(N)
	if len(src) != n*per {
		return nil, fmt.Errorf("%w: %s has %d bytes of rounded polynomials, want %d", ErrMalformed, what, len(src), n*per)
	}
	out := make([]ring.Poly, n)
	for i := range out {
		out[i] = rq.NewPoly()
	}
	segs := (N + roundSegment - 1) / roundSegment
	errs := make([]error, n*segs)
	parallelFor(n*segs, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i, s := t/segs, t%segs
			at := i*per + s*roundSegment*int(c.width)/8
			end := i*per + min((s+1)*roundSegment*int(c.width)/8, per)
			errs[t] = c.readRange(src[at:end], out[i], s*roundSegment, min((s+1)*roundSegment, N), fmt.Sprintf("%s polynomial %d", what, i))
		}
	})
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	if ntt {
		parallelFor(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				rq.NTT(out[i], out[i])
			}
		})
	}
	return out, nil
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
	return codec.appendPolys(b, p.ckks.RingQ().AtLevel(level), sv.C0, true), nil
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
	if nct > len(r.b)/codec.bytes(p.N()) {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	if sv.C0, err = codec.readPolys(r.b, p.ckks.RingQ().AtLevel(level), nct, true, what); err != nil {
		return nil, err
	}
	if err := sv.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return sv, nil
}

// MarshalSeededSharesRounded encodes encrypted shares as
// MarshalSeededSharesPacked does, with the low drop bits of every c0
// coefficient rounded off (a direct error: SlotDropBits). ss is not
// modified.
func (p Params) MarshalSeededSharesRounded(ss *SeededShares, drop int) ([]byte, error) {
	if err := ss.checkShape(p); err != nil {
		return nil, err
	}
	codec, err := newRoundCodec(p.ckks.Q()[:ss.Level+1], drop)
	if err != nil {
		return nil, err
	}
	for _, c0 := range ss.C0 {
		if c0.Level() != ss.Level {
			return nil, fmt.Errorf("%w: encrypted share at level %d, want %d", ErrShares, c0.Level(), ss.Level)
		}
	}
	b := p.header(kindSeededSharesRounded)
	b = appendLayout(b, ss.Layout, ss.Len, ss.Chunk, ss.Stride, ss.Scale, len(ss.C0))
	b = append(b, byte(ss.Level), byte(drop))
	b = append(b, ss.Seed[:]...)
	return codec.appendPolys(b, p.ckks.RingQ().AtLevel(ss.Level), ss.C0, true), nil
}

// UnmarshalSeededSharesRounded decodes encrypted shares encoded by
// MarshalSeededSharesRounded under the same parameters, and the bits that
// were rounded off, for the receiver to check against what it allows.
func (p Params) UnmarshalSeededSharesRounded(data []byte) (*SeededShares, int, error) {
	what := kindNames[kindSeededSharesRounded]
	rest, err := p.readHeader(data, kindSeededSharesRounded)
	if err != nil {
		return nil, 0, err
	}
	r := &reader{b: rest}
	ss := &SeededShares{}
	var n int
	ss.Layout, ss.Len, ss.Chunk, ss.Stride, ss.Scale, n = r.layout()
	ss.Level = int(r.u8())
	drop := int(r.u8())
	copy(ss.Seed[:], r.take(len(ss.Seed)))
	if r.err != nil {
		return nil, 0, fmt.Errorf("%s header: %w", what, r.err)
	}
	if ss.Level > p.MaxLevel() {
		return nil, 0, fmt.Errorf("%w: %s at level %d, parameters top out at %d", ErrMalformed, what, ss.Level, p.MaxLevel())
	}
	codec, err := newRoundCodec(p.ckks.Q()[:ss.Level+1], drop)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	if n > len(r.b)/codec.bytes(p.N()) {
		return nil, 0, fmt.Errorf("%w: %s announce %d polynomials in %d bytes", ErrMalformed, what, n, len(r.b))
	}
	if ss.C0, err = codec.readPolys(r.b, p.ckks.RingQ().AtLevel(ss.Level), n, true, what); err != nil {
		return nil, 0, err
	}
	if err := ss.checkShape(p); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return ss, drop, nil
}

// Rounding is how many low bits a rounded vector's components lost on the
// wire (MarshalVectorRounded); C0 is -1 for a message of c1 components
// only.
type Rounding struct{ C0, C1 int }

// MarshalVectorRounded encodes v's ciphertexts (NTT form) with the low c0
// bits of every c0 coefficient and the low c1 bits of every c1
// coefficient rounded off; with c0 < 0 the c0 components stay home and
// only the c1 travel (as MarshalVectorC1). v is not modified.
func (p Params) MarshalVectorRounded(v *Vector, c0, c1 int) ([]byte, error) {
	if err := v.check(p); err != nil {
		return nil, err
	}
	if c0 > 254 || c1 > 254 {
		return nil, fmt.Errorf("%w: rounding %d and %d bits", ErrShape, c0, c1)
	}
	b := p.header(kindVectorRounded)
	b = append(b, byte(v.Layout))
	b = appendU64(b, uint64(v.Len))
	b = appendU32(b, uint32(v.Chunk))
	b = appendU32(b, uint32(v.Stride))
	b = appendU32(b, uint32(len(v.Cts)))
	b = append(b, byte(max(c0, -1)), byte(c1)) // 255: no c0
	for i, ct := range v.Cts {
		if !ct.IsNTT {
			return nil, fmt.Errorf("%w: ciphertext %d outside the NTT domain", ErrShape, i)
		}
		level := ct.Level()
		rq := p.ckks.RingQ().AtLevel(level)
		b = append(b, byte(level))
		b = appendU64(b, math.Float64bits(ct.Scale.Float64()))
		for _, part := range []struct {
			drop int
			poly ring.Poly
		}{{c0, ct.Value[0]}, {c1, ct.Value[1]}} {
			if part.drop < 0 {
				continue
			}
			codec, err := newRoundCodec(p.ckks.Q()[:level+1], part.drop)
			if err != nil {
				return nil, fmt.Errorf("ciphertext %d: %w", i, err)
			}
			b = codec.appendPolys(b, rq, []ring.Poly{part.poly}, true)
		}
	}
	return b, nil
}

// UnmarshalVectorRounded decodes a message of MarshalVectorRounded, and
// the bits each component lost, for the receiver to check against what it
// allows; a message of c1 components only has zero c0 components.
func (p Params) UnmarshalVectorRounded(data []byte) (*Vector, Rounding, error) {
	what := kindNames[kindVectorRounded]
	rest, err := p.readHeader(data, kindVectorRounded)
	if err != nil {
		return nil, Rounding{}, err
	}
	r := &reader{b: rest}
	v := &Vector{Layout: Layout(r.u8()), Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32()), Stride: int(r.u32())}
	nct := int(r.u32())
	rd := Rounding{C0: int(r.u8()), C1: int(r.u8())}
	if r.err != nil {
		return nil, rd, fmt.Errorf("%s header: %w", what, r.err)
	}
	if rd.C0 == 255 {
		rd.C0 = -1
	}
	polys := 2
	if rd.C0 < 0 {
		polys = 1
	}
	// Every ciphertext takes at least a bit per coefficient and component.
	if minCt := 9 + polys*p.N()/8; nct > len(r.b)/minCt {
		return nil, rd, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	batched := v.Layout == SlotReal || v.Layout == SlotComplex || v.Layout == SlotSplit
	for i := 0; i < nct; i++ {
		level := int(r.u8())
		scale := math.Float64frombits(r.u64())
		if r.err != nil {
			return nil, rd, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
		}
		if level > p.MaxLevel() {
			return nil, rd, fmt.Errorf("%w: %s ciphertext %d at level %d, parameters top out at %d", ErrMalformed, what, i, level, p.MaxLevel())
		}
		if !(scale >= 1) || scale > math.Exp2(200) {
			return nil, rd, fmt.Errorf("%w: %s ciphertext %d has scale %v", ErrMalformed, what, i, scale)
		}
		ct := ckks.NewCiphertext(p.ckks, 1, level)
		ct.Scale = rlwe.NewScale(scale)
		ct.IsNTT, ct.IsBatched = true, batched
		if batched {
			ct.LogDimensions = p.ckks.LogMaxDimensions()
		}
		rq := p.ckks.RingQ().AtLevel(level)
		for k, drop := range []int{rd.C0, rd.C1} {
			if drop < 0 {
				continue
			}
			codec, err := newRoundCodec(p.ckks.Q()[:level+1], drop)
			if err != nil {
				return nil, rd, fmt.Errorf("%w: %s ciphertext %d: %w", ErrMalformed, what, i, err)
			}
			got, err := codec.readPolys(r.take(codec.bytes(p.N())), rq, 1, true, fmt.Sprintf("%s ciphertext %d", what, i))
			if err != nil {
				if r.err != nil {
					return nil, rd, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
				}
				return nil, rd, err
			}
			ct.Value[k] = got[0]
		}
		v.Cts = append(v.Cts, ct)
	}
	if len(r.b) != 0 {
		return nil, rd, fmt.Errorf("%w: %d trailing bytes after the %s", ErrMalformed, len(r.b), what)
	}
	if err := v.check(p); err != nil {
		return nil, rd, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return v, rd, nil
}

// MarshalVectorC1Rounded encodes the c1 components of v as MarshalVectorC1
// does, with the low C1DropBits(p) bits of every coefficient rounded off,
// for a peer that decrypts v with a partial decryption (DecryptPartial).
func (p Params) MarshalVectorC1Rounded(v *Vector) ([]byte, error) {
	return p.MarshalVectorRounded(v, -1, C1DropBits(p))
}

// UnmarshalVectorRoundedWithin is UnmarshalVectorRounded for a receiver
// that allows at most limit's bits: the message must carry c0 components
// exactly when limit.C0 >= 0, and neither component rounded past its
// limit; any other message is refused (ErrMalformed), since its
// decryption would lose precision the receiver counts on.
func (p Params) UnmarshalVectorRoundedWithin(data []byte, limit Rounding) (*Vector, error) {
	what := kindNames[kindVectorRounded]
	v, rd, err := p.UnmarshalVectorRounded(data)
	switch {
	case err != nil:
		return nil, err
	case (rd.C0 >= 0) != (limit.C0 >= 0):
		return nil, fmt.Errorf("%w: %s with c0 components %v, want %v", ErrMalformed, what, rd.C0 >= 0, limit.C0 >= 0)
	case rd.C0 > limit.C0 || rd.C1 > limit.C1:
		return nil, fmt.Errorf("%w: %s rounded by %d and %d bits, at most %d and %d keep the receiver's precision", ErrMalformed, what, rd.C0, rd.C1, limit.C0, limit.C1)
	}
	return v, nil
}

// UnmarshalVectorC1Rounded decodes a message of MarshalVectorC1Rounded: a
// coefficient-encoded vector whose c0 components are zero, its c1 rounded
// by at most C1DropBits(p) (UnmarshalVectorRoundedWithin).
func (p Params) UnmarshalVectorC1Rounded(data []byte) (*Vector, error) {
	v, err := p.UnmarshalVectorRoundedWithin(data, Rounding{C0: -1, C1: C1DropBits(p)})
	if err != nil {
		return nil, err
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return nil, fmt.Errorf("%w: %s in layout %s, want a coefficient layout", ErrMalformed, kindNames[kindVectorRounded], v.Layout)
	}
	return v, nil
}
