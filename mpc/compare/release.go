package compare

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/veil-fl/veil/mpc/ot"
)

// Conditional disclosure (Discloser, Recipient): the comparisons of a
// batch as a garbled circuit that the discloser (the center) garbles and
// the recipient (the bank) evaluates on its one input per record, which
// also releases a secret of the discloser's per record (its flags) exactly
// when the record lies at or below the release cut. See the package doc.

// MaxSecretBits bounds the secret disclosed per record.
const MaxSecretBits = 64

// Range checks on the recipient's input (Bounded): its input is a
// fixed-point value of |y| < 2^BoundBits, which a signed 32-bit integer
// shows by its top Width-BoundBits bits being equal.
const BoundBits = 29

// label is a garbled wire's 128-bit label.
type label [2]uint64

func (a label) xor(b label) label { return label{a[0] ^ b[0], a[1] ^ b[1]} }
func (a label) lsb() uint64       { return a[0] & 1 }

// if1 returns a when bit is 1, else zero.
func if1(bit uint64, a label) label { m := -bit; return label{a[0] & m, a[1] & m} }

// releaseKey is the fixed public key of the garbling's permutation pi: the
// first 16 bytes of SHA-256("veil compare garbling").
var releaseKey = [16]byte{0x4b, 0x1d, 0x96, 0x0e, 0x3a, 0x7f, 0xc2, 0x58, 0x91, 0x2c, 0xe4, 0x63, 0x0b, 0xd7, 0x35, 0xa9}

// gcHash is the tweakable circular correlation-robust hash of Guo, Katz,
// Wang and Yu (IEEE S&P 2020): H(x, i) = pi(pi(x) ^ i) ^ pi(x), pi AES-128
// under releaseKey; half-gates with free XOR need exactly that (section 7).
type gcHash struct{ b cipher.Block }

func newGCHash() gcHash {
	b, err := aes.NewCipher(releaseKey[:])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return gcHash{b}
}

func (h gcHash) pi(x label) label {
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], x[0])
	binary.LittleEndian.PutUint64(buf[8:], x[1])
	h.b.Encrypt(buf[:], buf[:])
	return label{binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])}
}

// hash is H(x, tweak): tweak names the gate's half (2 per AND gate of the
// batch) or, with the top bit set, the record whose secret it masks.
func (h gcHash) hash(x label, tweak uint64) label {
	p := h.pi(x)
	return h.pi(label{p[0] ^ tweak, p[1]}).xor(p)
}

const secretTweak = 1 << 63

// releasePlan is a batch's circuit, the same for both sides: per record,
// one carry chain of 31 AND gates for each cut, then the release gate(s)
// on the release cut.
type releasePlan struct {
	n, cuts, at int
	bounded     bool
	secretBits  int
}

// ands is the AND gates per record.
func (p releasePlan) ands() int {
	switch {
	case weakRelease:
		return p.cuts * lowBits
	case p.bounded:
		return p.cuts*lowBits + 2
	}
	return p.cuts*lowBits + 1
}

// otBits is the recipient's input bits per record (its whole share).
const otBits = Width

func (p releasePlan) secretBytes() int { return (p.secretBits + 7) / 8 }

// decodeBits is the bits decoding each record's outputs: each cut's sign
// wire and the release wire.
func (p releasePlan) decodeBits() int { return p.cuts + 1 }

func checkRelease(n int, ks []uint32, at, secretBits int) error {
	if err := checkInput(n, len(ks)); err != nil {
		return err
	}
	switch {
	case at < 0 || at >= len(ks):
		return fmt.Errorf("%w: release cut %d of %d", ErrInput, at, len(ks))
	case secretBits < 1 || secretBits > MaxSecretBits:
		return fmt.Errorf("%w: secrets of %d bits, want 1 .. %d", ErrInput, secretBits, MaxSecretBits)
	case n*otBits*2 > ot.MaxBatch:
		return fmt.Errorf("%w: %d records pass a batch's %d OTs", ErrInput, n, ot.MaxBatch)
	}
	return nil
}

// A Discloser is the garbling side of a conditional disclosure: it holds
// x_r per record, the cut constants k_j (public) and a secret per record,
// and learns nothing.
type Discloser struct {
	o       *ot.Offerer
	p       releasePlan
	x, ks   []uint32
	secrets []uint64
	done    bool
}

// A Recipient is the evaluating side: it holds y_r per record and learns,
// per record and cut j, whether x_r - k_j + y_r modulo 2^Width is
// non-negative as a signed integer, and the record's secret exactly when
// the release cut's is negative (and, Bounded, y_r is within 2^BoundBits).
type Recipient struct {
	c     *ot.Chooser
	p     releasePlan
	y     []uint32
	ks    []uint32
	cb    *ot.ChooserBatch
	res   *Release
	state int
	// rel holds each record's label of the release wire (for the tests).
	rel []label
}

// Release is what a recipient learns of a batch.
type Release struct {
	// Bits holds per record and cut (record by record) 1 when x_r - k_j +
	// y_r is non-negative, as Learner.Result.
	Bits []uint8
	// Released reports per record that its secret was released, and
	// Secrets holds it (0 where not released).
	Released []bool
	Secrets  []uint64
}

// ReleaseOptions are the public terms of a conditional disclosure, which
// both sides must agree on.
type ReleaseOptions struct {
	// Cuts are the constants k_j subtracted from every record's sum, one
	// per comparison.
	Cuts []uint32
	// At is the release cut: a record's secret is released when its sum
	// at cut At is negative.
	At int
	// Bounded adds the range check |y_r| < 2^BoundBits to the release: the
	// recipient's input is then a bounded value of its own (a linear
	// model's partial score), not a random share.
	Bounded bool
	// SecretBits is the width of each secret, 1 .. MaxSecretBits.
	SecretBits int
}

// NewDiscloser prepares the garbling side on the OT session o (the
// discloser offers the recipient's input labels), for records x with
// secrets (the low opt.SecretBits bits of each are disclosed).
func NewDiscloser(o *ot.Offerer, x []uint32, secrets []uint64, opt ReleaseOptions) (*Discloser, error) {
	if err := checkRelease(len(x), opt.Cuts, opt.At, opt.SecretBits); err != nil {
		return nil, err
	}
	if len(secrets) != len(x) {
		return nil, fmt.Errorf("%w: %d secrets for %d records", ErrInput, len(secrets), len(x))
	}
	return &Discloser{o: o, p: releasePlan{n: len(x), cuts: len(opt.Cuts), at: opt.At, bounded: opt.Bounded, secretBits: opt.SecretBits},
		x: x, ks: opt.Cuts, secrets: secrets}, nil
}

// NewRecipient prepares the evaluating side on the OT session c, for its
// inputs y (one per record).
func NewRecipient(c *ot.Chooser, y []uint32, opt ReleaseOptions) (*Recipient, error) {
	if err := checkRelease(len(y), opt.Cuts, opt.At, opt.SecretBits); err != nil {
		return nil, err
	}
	return &Recipient{c: c, p: releasePlan{n: len(y), cuts: len(opt.Cuts), at: opt.At, bounded: opt.Bounded, secretBits: opt.SecretBits},
		y: y, ks: opt.Cuts}, nil
}

// weakRelease releases on the release cut's sign alone, without the range
// check (Bounded) or the window: the recipient's input then wraps around
// 2^Width, and a recipient that flips its top input bit (y + 2^31) turns
// every comparison over and opens the secrets of exactly the records
// above the cut, knowing that they are. It stands for every disclosure
// keyed by a bit the recipient holds unauthenticated (an XOR share of the
// comparison, a list of approved ids). Never set outside
// TestCheatingRecipient.
var weakRelease = false

// Start returns the recipient's first message: the batch's random OTs and
// its input bits, derandomized.
func (r *Recipient) Start() ([]byte, error) {
	if r.state != 0 {
		return nil, fmt.Errorf("%w: Start called twice", ErrState)
	}
	m := r.p.n * otBits
	cb, u, err := r.c.Extend(2*m, nil)
	if err != nil {
		return nil, err
	}
	r.cb = cb
	choice := func(i int) uint { return uint(r.y[i/otBits]>>(i%otBits)) & 1 }
	d0, err := cb.Derandomize(0, m, 1, choice)
	if err != nil {
		return nil, err
	}
	d1, err := cb.Derandomize(m, m, 1, choice)
	if err != nil {
		return nil, err
	}
	r.state = 1
	return join(u, d0, d1), nil
}

// Respond takes the recipient's message and returns the discloser's only
// message: the recipient's input labels, the garbled circuit, the output
// decoding and the masked secrets.
func (d *Discloser) Respond(msg []byte) ([]byte, error) {
	if d.done {
		return nil, fmt.Errorf("%w: Respond called twice", ErrState)
	}
	d.done = true
	p := d.p
	m := p.n * otBits
	parts, err := split(msg, 3, "random OTs and input choices")
	if err != nil {
		return nil, err
	}
	ob, err := d.o.Extend(2*m, parts[0])
	if err != nil {
		return nil, fmt.Errorf("compare: random OTs: %w", err)
	}
	rnd, err := newRand()
	if err != nil {
		return nil, err
	}
	draw := func() label { return label{rnd.Uint64(), rnd.Uint64()} }
	delta := draw()
	delta[0] |= 1          // point-and-permute: the two labels of a wire differ in their last bit
	in := make([]label, m) // the zero labels of the recipient's input bits
	for i := range in {
		in[i] = draw()
	}
	offer := func(half int) func(i int, v uint) uint64 {
		return func(i int, v uint) uint64 { return in[i].xor(if1(uint64(v), delta))[half] }
	}
	o0, err := ob.Offer(0, m, 1, 64, parts[1], offer(0))
	if err != nil {
		return nil, fmt.Errorf("compare: input choices: %w", err)
	}
	o1, err := ob.Offer(m, m, 1, 64, parts[2], offer(1))
	if err != nil {
		return nil, fmt.Errorf("compare: input choices: %w", err)
	}
	h := newGCHash()
	tables := make([]label, 2*p.n*p.ands())
	zeros := make([]label, p.n)
	for r := range zeros {
		zeros[r] = draw()
	}
	decode := make([]uint8, p.n*p.decodeBits())
	sb := p.secretBytes()
	masked := make([]byte, p.n*sb)
	// Records garble apart: each has its own gates (from r*ands) and bytes.
	parallelRecords(p.n, func(lo, hi int) {
		g := garbler{h: h, delta: delta, tables: tables}
		for r := lo; r < hi; r++ {
			g.gate = uint64(r * p.ands())
			y := in[r*otBits : (r+1)*otBits]
			var sign, s30 label
			for j, k := range d.ks {
				s31, s30j := g.sum(d.x[r]-k, y, zeros[r])
				decode[r*p.decodeBits()+j] = uint8(s31.lsb())
				if j == p.at {
					sign, s30 = s31, s30j
				}
			}
			var rel label
			switch {
			case weakRelease:
				rel = sign
			case p.bounded:
				// y's top bits equal: not(y29 ^ y30) and not(y30 ^ y31).
				e1 := y[BoundBits].xor(y[BoundBits+1]).xor(delta)
				e2 := y[BoundBits+1].xor(y[BoundBits+2]).xor(delta)
				rel = g.and(sign, g.and(e1, e2))
			default:
				// The sum in [-2^30, 0): its top two bits set. Honest sums
				// lie in (-2^30, 2^30) (MaxBandInput), so the window holds
				// every negative one.
				rel = g.and(sign, s30)
			}
			decode[r*p.decodeBits()+p.cuts] = uint8(rel.lsb())
			pad := h.hash(rel.xor(delta), secretTweak|uint64(r))
			s := d.secrets[r]
			if p.secretBits < 64 {
				s &= 1<<p.secretBits - 1 // no bit past the secret's width leaves
			}
			s ^= pad[0]
			for b := range sb {
				masked[r*sb+b] = byte(s >> (8 * b))
			}
		}
	})
	bits := ot.NewBits(len(decode))
	for i, v := range decode {
		bits.Set(i, uint(v))
	}
	return join(o0, o1, labelsBytes(zeros), labelsBytes(tables), bitsBytes(bits, len(decode)), masked), nil
}

// garbler garbles AND gates by half-gates (Zahur, Rosulek and Evans, "Two
// Halves Make a Whole", EUROCRYPT 2015) under the free-XOR offset delta,
// writing gate g's two ciphertexts at tables[2g], tables[2g+1].
type garbler struct {
	h      gcHash
	delta  label
	tables []label
	gate   uint64
}

// and returns the zero label of a AND b, given theirs.
func (g *garbler) and(a, b label) label {
	j := 2 * g.gate
	g.gate++
	pa, pb := a.lsb(), b.lsb()
	ha0, ha1 := g.h.hash(a, j), g.h.hash(a.xor(g.delta), j)
	hb0, hb1 := g.h.hash(b, j+1), g.h.hash(b.xor(g.delta), j+1)
	tg := ha0.xor(ha1).xor(if1(pb, g.delta))
	wg := ha0.xor(if1(pa, tg))
	te := hb0.xor(hb1).xor(a)
	we := hb0.xor(if1(pb, te.xor(a)))
	g.tables[j], g.tables[j+1] = tg, te
	return wg.xor(we)
}

// sum garbles the carry chain of a + y over the low 31 bits, a known to
// the garbler (its XOR into a wire is a swap of the wire's labels, free
// and unseen), y the recipient's input wires, and returns the zero labels
// of the sum's bits 31 and 30. zero is the zero label of the constant-0
// wire that starts the chain.
func (g *garbler) sum(a uint32, y []label, zero label) (s31, s30 label) {
	c := zero
	for i := range lowBits {
		ai := uint64(a>>i) & 1
		// carry' = c ^ ((a_i ^ c) & (y_i ^ c))
		and := g.and(c.xor(if1(ai, g.delta)), y[i].xor(c))
		if i == lowBits-1 {
			s30 = y[i].xor(c).xor(if1(ai, g.delta))
		}
		c = c.xor(and)
	}
	return y[Width-1].xor(c).xor(if1(uint64(a>>(Width-1)), g.delta)), s30
}

// evaluator follows the garbler's circuit on active labels.
type evaluator struct {
	h      gcHash
	tables []label
	gate   uint64
}

func (e *evaluator) and(a, b label) label {
	j := 2 * e.gate
	tg, te := e.tables[2*e.gate], e.tables[2*e.gate+1]
	e.gate++
	wg := e.h.hash(a, j).xor(if1(a.lsb(), tg))
	we := e.h.hash(b, j+1).xor(if1(b.lsb(), te.xor(a)))
	return wg.xor(we)
}

func (e *evaluator) sum(y []label, zero label) (s31, s30 label) {
	c := zero
	for i := range lowBits {
		and := e.and(c, y[i].xor(c))
		if i == lowBits-1 {
			s30 = y[i].xor(c)
		}
		c = c.xor(and)
	}
	return y[Width-1].xor(c), s30
}

// Finish takes the discloser's message and returns the recipient's
// release.
func (r *Recipient) Finish(msg []byte) (*Release, error) {
	if r.state != 1 {
		return nil, fmt.Errorf("%w: Finish before Start or twice", ErrState)
	}
	r.state = 2
	p := r.p
	m := p.n * otBits
	parts, err := split(msg, 6, "garbled comparisons")
	if err != nil {
		return nil, err
	}
	choice := func(i int) uint { return uint(r.y[i/otBits]>>(i%otBits)) & 1 }
	lo, err := r.cb.Receive(0, m, 1, 64, choice, parts[0])
	if err != nil {
		return nil, fmt.Errorf("compare: input labels: %w", err)
	}
	hi, err := r.cb.Receive(m, m, 1, 64, choice, parts[1])
	if err != nil {
		return nil, fmt.Errorf("compare: input labels: %w", err)
	}
	zeros, err := bytesLabels(parts[2], p.n, "constant labels")
	if err != nil {
		return nil, err
	}
	tables, err := bytesLabels(parts[3], 2*p.n*p.ands(), "garbled tables")
	if err != nil {
		return nil, err
	}
	if len(parts[4]) != (p.n*p.decodeBits()+7)/8 {
		return nil, fmt.Errorf("%w: %d bytes of decoding bits for %d records of %d outputs", ErrMessage, len(parts[4]), p.n, p.decodeBits())
	}
	sb := p.secretBytes()
	if len(parts[5]) != p.n*sb {
		return nil, fmt.Errorf("%w: %d bytes of secrets for %d records of %d bytes", ErrMessage, len(parts[5]), p.n, sb)
	}
	h := newGCHash()
	res := &Release{Bits: make([]uint8, p.n*p.cuts), Released: make([]bool, p.n), Secrets: make([]uint64, p.n)}
	r.rel = make([]label, p.n)
	parallelRecords(p.n, func(first, end int) {
		e := evaluator{h: h, tables: tables}
		y := make([]label, otBits)
		for rec := first; rec < end; rec++ {
			e.gate = uint64(rec * p.ands())
			for i := range y {
				y[i] = label{lo[rec*otBits+i], hi[rec*otBits+i]}
			}
			var sign, s30 label
			for j := range p.cuts {
				s31, s30j := e.sum(y, zeros[rec])
				// The sign bit decodes to 1 for a negative sum.
				neg := s31.lsb() ^ uint64(bytesBit(parts[4], rec*p.decodeBits()+j))
				res.Bits[rec*p.cuts+j] = uint8(1 ^ neg)
				if j == p.at {
					sign, s30 = s31, s30j
				}
			}
			var rel label
			switch {
			case weakRelease:
				rel = sign
			case p.bounded:
				rel = e.and(sign, e.and(y[BoundBits].xor(y[BoundBits+1]), y[BoundBits+1].xor(y[BoundBits+2])))
			default:
				rel = e.and(sign, s30)
			}
			r.rel[rec] = rel
			if rel.lsb()^uint64(bytesBit(parts[4], rec*p.decodeBits()+p.cuts)) == 1 {
				res.Released[rec] = true
				var s uint64
				for b := range sb {
					s |= uint64(parts[5][rec*sb+b]) << (8 * b)
				}
				s ^= h.hash(rel, secretTweak|uint64(rec))[0]
				if p.secretBits < 64 {
					s &= 1<<p.secretBits - 1
				}
				res.Secrets[rec] = s
			}
		}
	})
	r.res = res
	return res, nil
}

// parallelRecords runs f over n records in one chunk per core.
func parallelRecords(n int, f func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		f(0, n)
		return
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Go(func() { f(lo, min(lo+chunk, n)) })
	}
	wg.Wait()
}

func labelsBytes(ls []label) []byte {
	out := make([]byte, 16*len(ls))
	for i, l := range ls {
		binary.LittleEndian.PutUint64(out[16*i:], l[0])
		binary.LittleEndian.PutUint64(out[16*i+8:], l[1])
	}
	return out
}

func bytesLabels(b []byte, n int, what string) ([]label, error) {
	if len(b) != 16*n {
		return nil, fmt.Errorf("%w: %s: %d bytes, want %d", ErrMessage, what, len(b), 16*n)
	}
	out := make([]label, n)
	for i := range out {
		out[i] = label{binary.LittleEndian.Uint64(b[16*i:]), binary.LittleEndian.Uint64(b[16*i+8:])}
	}
	return out, nil
}

// ReleaseMessageBytes returns the bytes of a batch of n records: the
// recipient's message and the discloser's.
func ReleaseMessageBytes(n int, opt ReleaseOptions) (recipient, discloser int) {
	p := releasePlan{n: n, cuts: len(opt.Cuts), at: opt.At, bounded: opt.Bounded, secretBits: opt.SecretBits}
	m := n * otBits
	ext := ot.Kappa * 8 * ((2*m + 63) / 64)
	recipient = ext + 2*((m+7)/8)
	discloser = 2*16*m + 16*n + 32*n*p.ands() + (n*p.decodeBits()+7)/8 + n*p.secretBytes()
	return recipient, discloser
}
