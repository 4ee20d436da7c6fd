package he

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Wire format. Every message starts with a 4-byte header: 'V' 'H', a kind
// byte and a format version, then the parameter-set id (1 length byte and the
// id), then the kind's fields. Polynomials travel as raw little-endian
// coefficients, their shape never read from the wire: the decoder allocates
// what the parameters and the local key spec dictate, checks that the message
// has exactly the expected length, and rejects any coefficient not reduced
// modulo its prime. A truncated, oversized or forged message is an error,
// never a panic or an allocation the sender chose.

// ErrMalformed is returned for a message that does not decode.
var ErrMalformed = errors.New("he: malformed message")

// wireVersion 2: CoeffGrid spreads the groups of a partial last ciphertext.
const wireVersion = 2

const (
	kindVector byte = iota + 1
	kindDecryptionShare
	kindKeyGenRound1
	kindKeyGenRound2
	kindSeededVector
	kindSeededShares
	kindShares
)

var kindNames = map[byte]string{kindVector: "vector", kindDecryptionShare: "decryption share", kindKeyGenRound1: "key-generation round 1", kindKeyGenRound2: "key-generation round 2", kindSeededVector: "seeded vector", kindSeededShares: "encrypted shares", kindShares: "shares"}

// polyField is one polynomial of a message with the primes of its rows.
type polyField struct {
	p      ring.Poly
	moduli []uint64
}

func (p Params) qField(x ring.Poly) polyField {
	return polyField{x, p.ckks.Q()[:len(x.Coeffs)]}
}

func (p Params) qpFields(x ringqp.Poly) []polyField {
	f := []polyField{p.qField(x.Q)}
	if len(x.P.Coeffs) > 0 {
		f = append(f, polyField{x.P, p.ckks.P()[:len(x.P.Coeffs)]})
	}
	return f
}

func (p Params) gadgetFields(g rlwe.GadgetCiphertext) []polyField {
	var f []polyField
	for _, row := range g.Value {
		for _, v := range row {
			for _, x := range v {
				f = append(f, p.qpFields(x)...)
			}
		}
	}
	return f
}

func polyBytes(fields []polyField) int {
	n := 0
	for _, f := range fields {
		for _, row := range f.p.Coeffs {
			n += 8 * len(row)
		}
	}
	return n
}

// appendPolys writes the coefficients, reduced modulo their primes (lattigo
// leaves ciphertexts and some shares lazily reduced).
func appendPolys(b []byte, fields []polyField) []byte {
	b = slices.Grow(b, polyBytes(fields))
	for _, f := range fields {
		for i, row := range f.p.Coeffs {
			q := f.moduli[i]
			brc := ring.BRedConstant(q)
			off := len(b)
			b = b[:off+8*len(row)]
			for j, c := range row {
				if c >= q {
					c = ring.BRedAdd(c, q, brc)
				}
				binary.LittleEndian.PutUint64(b[off+8*j:], c)
			}
		}
	}
	return b
}

// readPolys fills fields from exactly polyBytes(fields) bytes of b.
func readPolys(b []byte, fields []polyField, what string) error {
	if len(b) != polyBytes(fields) {
		return fmt.Errorf("%w: %s has %d bytes of coefficients, want %d", ErrMalformed, what, len(b), polyBytes(fields))
	}
	off := 0
	for _, f := range fields {
		for i, row := range f.p.Coeffs {
			q := f.moduli[i]
			for j := range row {
				c := binary.LittleEndian.Uint64(b[off:])
				if c >= q {
					return fmt.Errorf("%w: %s has a coefficient not reduced modulo its prime", ErrMalformed, what)
				}
				row[j] = c
				off += 8
			}
		}
	}
	return nil
}

func (p Params) header(kind byte) []byte {
	b := []byte{'V', 'H', kind, wireVersion, byte(len(p.set.ID))}
	return append(b, p.set.ID...)
}

// readHeader checks the header and returns the rest of the message.
func (p Params) readHeader(b []byte, kind byte) ([]byte, error) {
	what := kindNames[kind]
	if len(b) < 5 || b[0] != 'V' || b[1] != 'H' {
		return nil, fmt.Errorf("%w: %s: not a Veil HE message", ErrMalformed, what)
	}
	if b[2] != kind {
		return nil, fmt.Errorf("%w: want a %s, got message kind %d", ErrMalformed, what, b[2])
	}
	if b[3] != wireVersion {
		return nil, fmt.Errorf("%w: %s: format version %d, this build reads %d", ErrMalformed, what, b[3], wireVersion)
	}
	n := int(b[4])
	if len(b) < 5+n {
		return nil, fmt.Errorf("%w: %s: truncated header", ErrMalformed, what)
	}
	if id := string(b[5 : 5+n]); id != p.set.ID {
		return nil, fmt.Errorf("%w: %s for parameter set %q, this session uses %q", ErrMalformed, what, id, p.set.ID)
	}
	return b[5+n:], nil
}

// reader consumes fixed-size fields with bounds checks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrMalformed)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// MarshalVector encodes v for the wire.
func (p Params) MarshalVector(v *Vector) ([]byte, error) {
	if err := v.check(p); err != nil {
		return nil, err
	}
	h := p.header(kindVector)
	size := len(h) + 21
	for _, ct := range v.Cts {
		size += 9 + polyBytes([]polyField{p.qField(ct.Value[0]), p.qField(ct.Value[1])})
	}
	b := append(make([]byte, 0, size), h...)
	b = append(b, byte(v.Layout))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Len))
	b = binary.LittleEndian.AppendUint32(b, uint32(v.Chunk))
	b = binary.LittleEndian.AppendUint32(b, uint32(v.Stride))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Cts)))
	for _, ct := range v.Cts {
		b = append(b, byte(ct.Level()))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ct.Scale.Float64()))
		b = appendPolys(b, []polyField{p.qField(ct.Value[0]), p.qField(ct.Value[1])})
	}
	return b, nil
}

// UnmarshalVector decodes a vector encoded by MarshalVector under the same parameters.
func (p Params) UnmarshalVector(data []byte) (*Vector, error) {
	rest, err := p.readHeader(data, kindVector)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	v := &Vector{Layout: Layout(r.u8()), Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32()), Stride: int(r.u32())}
	nct := int(r.u32())
	if r.err != nil {
		return nil, fmt.Errorf("vector header: %w", r.err)
	}
	minCt := 9 + 2*8*p.N()
	if nct > len(r.b)/minCt {
		return nil, fmt.Errorf("%w: vector announces %d ciphertexts in %d bytes", ErrMalformed, nct, len(r.b))
	}
	batched := v.Layout == SlotReal || v.Layout == SlotComplex || v.Layout == SlotSplit
	for i := 0; i < nct; i++ {
		level := int(r.u8())
		scale := math.Float64frombits(r.u64())
		if r.err != nil {
			return nil, fmt.Errorf("vector ciphertext %d: %w", i, r.err)
		}
		if level > p.MaxLevel() {
			return nil, fmt.Errorf("%w: vector ciphertext %d at level %d, parameters top out at %d", ErrMalformed, i, level, p.MaxLevel())
		}
		if !(scale >= 1) || scale > math.Exp2(200) {
			return nil, fmt.Errorf("%w: vector ciphertext %d has scale %v", ErrMalformed, i, scale)
		}
		ct := ckks.NewCiphertext(p.ckks, 1, level)
		ct.Scale = rlwe.NewScale(scale)
		ct.IsNTT, ct.IsBatched = true, batched
		fields := []polyField{p.qField(ct.Value[0]), p.qField(ct.Value[1])}
		if err := readPolys(r.take(polyBytes(fields)), fields, fmt.Sprintf("vector ciphertext %d", i)); err != nil {
			if r.err != nil {
				return nil, fmt.Errorf("vector ciphertext %d: %w", i, r.err)
			}
			return nil, err
		}
		v.Cts = append(v.Cts, ct)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the vector", ErrMalformed, len(r.b))
	}
	if err := v.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return v, nil
}

// MarshalDecryptionShare encodes a decryption share for the wire.
func (p Params) MarshalDecryptionShare(s *DecryptionShare) ([]byte, error) {
	if s == nil || s.ParamSet != p.set.ID {
		return nil, fmt.Errorf("%w: share for another parameter set", ErrShareMismatch)
	}
	size := 16
	for _, poly := range s.Polys {
		size += 1 + 8*p.N()*(poly.Level()+1)
	}
	b := append(make([]byte, 0, size), p.header(kindDecryptionShare)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Polys)))
	for _, poly := range s.Polys {
		b = append(b, byte(poly.Level()))
		b = appendPolys(b, []polyField{p.qField(poly)})
	}
	return b, nil
}

// UnmarshalDecryptionShare decodes a share encoded by MarshalDecryptionShare.
func (p Params) UnmarshalDecryptionShare(data []byte) (*DecryptionShare, error) {
	rest, err := p.readHeader(data, kindDecryptionShare)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	n := int(r.u32())
	if r.err != nil {
		return nil, fmt.Errorf("decryption share: %w", r.err)
	}
	if n > len(r.b)/(1+8*p.N()) {
		return nil, fmt.Errorf("%w: decryption share announces %d polynomials in %d bytes", ErrMalformed, n, len(r.b))
	}
	s := &DecryptionShare{ParamSet: p.set.ID}
	for i := 0; i < n; i++ {
		level := int(r.u8())
		if r.err == nil && level > p.MaxLevel() {
			return nil, fmt.Errorf("%w: decryption share %d at level %d", ErrMalformed, i, level)
		}
		poly := p.ckks.RingQ().AtLevel(min(level, p.MaxLevel())).NewPoly()
		f := []polyField{p.qField(poly)}
		if err := readPolys(r.take(polyBytes(f)), f, fmt.Sprintf("decryption share %d", i)); err != nil {
			if r.err != nil {
				return nil, fmt.Errorf("decryption share %d: %w", i, r.err)
			}
			return nil, err
		}
		s.Polys = append(s.Polys, poly)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the decryption share", ErrMalformed, len(r.b))
	}
	return s, nil
}

func (kg *KeyGen) round1Fields(r *KeyGenRound1) []polyField {
	p := kg.params
	f := p.qpFields(r.PublicKey.Value)
	if r.Relin != nil {
		f = append(f, p.gadgetFields(r.Relin.GadgetCiphertext)...)
	}
	for _, g := range r.RelinSquare {
		f = append(f, p.gadgetFields(g.GadgetCiphertext)...)
	}
	for _, g := range r.Galois {
		f = append(f, p.gadgetFields(g.GadgetCiphertext)...)
	}
	return f
}

// MarshalRound1 encodes this party's first key-generation message, its
// coefficients packed in the bits of their primes.
func (kg *KeyGen) MarshalRound1() []byte {
	r := kg.Round1()
	b := kg.params.header(kindKeyGenRound1Packed)
	b = append(b, byte(r.RelinHolder), byte(r.GaloisHolder))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.GaloisEls)))
	for _, el := range r.GaloisEls {
		b = binary.LittleEndian.AppendUint64(b, el)
	}
	b = append(b, relinContent(r.Relin != nil, r.RelinSquare != nil))
	return appendPacked(b, kg.round1Fields(r))
}

// relinContent is round 1's relinearisation byte: 0 nothing, 1 a share of
// lattigo's first round, 2 the shares of a key the receiver alone holds.
func relinContent(firstRound, squares bool) byte {
	switch {
	case firstRound:
		return 1
	case squares:
		return 2
	}
	return 0
}

// UnmarshalRound1 decodes the peer's first message. The shape comes from the
// local key spec: a peer with other Galois elements or relinearisation choice
// is refused with ErrKeySpecMismatch before anything is allocated.
func (kg *KeyGen) UnmarshalRound1(data []byte) (*KeyGenRound1, error) {
	rest, err := kg.params.readHeader(data, kindKeyGenRound1Packed)
	if err != nil {
		if errors.Is(err, ErrMalformed) && len(data) > 5 && data[2] == kindKeyGenRound1Packed {
			return nil, fmt.Errorf("%w: %w", ErrKeySpecMismatch, err)
		}
		return nil, err
	}
	rd := &reader{b: rest}
	relinHolder, galoisHolder := Holder(rd.u8()), Holder(rd.u8())
	if rd.err == nil {
		if err := kg.checkPeerHolders(relinHolder, galoisHolder); err != nil {
			return nil, err
		}
	}
	n := int(rd.u32())
	if rd.err == nil && n != len(kg.galEls) {
		return nil, fmt.Errorf("%w: peer generates %d Galois keys, this party %d", ErrKeySpecMismatch, n, len(kg.galEls))
	}
	for i := 0; i < n && rd.err == nil; i++ {
		if el := rd.u64(); rd.err == nil && el != kg.galEls[i] {
			return nil, fmt.Errorf("%w: peer's Galois element %d is %d, this party's %d", ErrKeySpecMismatch, i, el, kg.galEls[i])
		}
	}
	relin := rd.u8()
	if rd.err != nil {
		return nil, fmt.Errorf("key-generation round 1: %w", rd.err)
	}
	twoRounds := kg.twoRounds()
	if want := relinContent(twoRounds, kg.peerSquareShares() > 0); relin != want {
		return nil, fmt.Errorf("%w: peer's relinearisation content %d, this party expects %d (0 none, 1 a first-round share, 2 the shares of a key this party alone holds)", ErrKeySpecMismatch, relin, want)
	}
	r := &KeyGenRound1{ParamSet: kg.params.ID(), RelinHolder: relinHolder, GaloisHolder: galoisHolder, GaloisEls: kg.galEls, PublicKey: kg.ckg.AllocateShare()}
	if twoRounds {
		_, s1, _ := kg.rkg.AllocateShare()
		r.Relin = &s1
	}
	for range kg.peerSquareShares() {
		r.RelinSquare = append(r.RelinSquare, kg.evkg.AllocateShare())
	}
	r.Galois = make([]mhe.GaloisKeyGenShare, kg.peerGaloisShares())
	for i := range r.Galois {
		el := kg.galEls[i]
		r.Galois[i] = kg.gkg.AllocateShare(kg.spec.galoisKeyParams(kg.params, el)...)
		r.Galois[i].GaloisElement = el
	}
	if err := readPacked(rd.b, kg.round1Fields(r), "key-generation round 1"); err != nil {
		return nil, err
	}
	return r, nil
}

// MarshalRound2 encodes this party's second key-generation message (call
// after Round2).
func (kg *KeyGen) MarshalRound2() ([]byte, error) {
	if kg.r2 == nil {
		return nil, errors.New("he: MarshalRound2 called before Round2")
	}
	b := kg.params.header(kindKeyGenRound2Packed)
	if kg.r2.Relin == nil {
		return append(b, 0), nil
	}
	return appendPacked(append(b, 1), kg.params.gadgetFields(kg.r2.Relin.GadgetCiphertext)), nil
}

// UnmarshalRound2 decodes the peer's second message.
func (kg *KeyGen) UnmarshalRound2(data []byte) (*KeyGenRound2, error) {
	rest, err := kg.params.readHeader(data, kindKeyGenRound2Packed)
	if err != nil {
		return nil, err
	}
	twoRounds := kg.twoRounds()
	if len(rest) < 1 || rest[0] > 1 || (rest[0] == 1) != twoRounds {
		return nil, fmt.Errorf("%w: second round relinearisation flag", ErrKeySpecMismatch)
	}
	r := &KeyGenRound2{ParamSet: kg.params.ID()}
	if !twoRounds {
		if len(rest) != 1 {
			return nil, fmt.Errorf("%w: %d trailing bytes in key-generation round 2", ErrMalformed, len(rest)-1)
		}
		return r, nil
	}
	_, _, s2 := kg.rkg.AllocateShare()
	if err := readPacked(rest[1:], kg.params.gadgetFields(s2.GadgetCiphertext), "key-generation round 2"); err != nil {
		return nil, err
	}
	r.Relin = &s2
	return r, nil
}

func appendLayout(b []byte, l Layout, n, chunk, stride int, scale float64, count int) []byte {
	b = append(b, byte(l))
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = binary.LittleEndian.AppendUint32(b, uint32(chunk))
	b = binary.LittleEndian.AppendUint32(b, uint32(stride))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(scale))
	return binary.LittleEndian.AppendUint32(b, uint32(count))
}

func (r *reader) layout() (l Layout, n, chunk, stride int, scale float64, count int) {
	l = Layout(r.u8())
	n = int(min(r.u64(), math.MaxInt32))
	chunk, stride = int(r.u32()), int(r.u32())
	scale = math.Float64frombits(r.u64())
	count = int(r.u32())
	return
}

// MarshalSeededShares encodes encrypted shares for the wire: the layout,
// scale, level and seed, and the c0 components.
func (p Params) MarshalSeededShares(ss *SeededShares) ([]byte, error) {
	if err := ss.checkShape(p); err != nil {
		return nil, err
	}
	b := p.header(kindSeededShares)
	b = appendLayout(b, ss.Layout, ss.Len, ss.Chunk, ss.Stride, ss.Scale, len(ss.C0))
	b = append(b, byte(ss.Level))
	b = append(b, ss.Seed[:]...)
	for _, c0 := range ss.C0 {
		if c0.Level() != ss.Level {
			return nil, fmt.Errorf("%w: encrypted share at level %d, want %d", ErrShares, c0.Level(), ss.Level)
		}
		b = appendPolys(b, []polyField{p.qField(c0)})
	}
	return b, nil
}

// UnmarshalSeededShares decodes encrypted shares encoded by
// MarshalSeededShares under the same parameters.
func (p Params) UnmarshalSeededShares(data []byte) (*SeededShares, error) {
	rest, err := p.readHeader(data, kindSeededShares)
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
		return nil, fmt.Errorf("encrypted shares header: %w", r.err)
	}
	if ss.Level > p.MaxLevel() {
		return nil, fmt.Errorf("%w: encrypted shares at level %d, parameters top out at %d", ErrMalformed, ss.Level, p.MaxLevel())
	}
	rq := p.ckks.RingQ().AtLevel(ss.Level)
	per := 8 * p.N() * (ss.Level + 1)
	if n > len(r.b)/per {
		return nil, fmt.Errorf("%w: encrypted shares announce %d polynomials in %d bytes", ErrMalformed, n, len(r.b))
	}
	for i := 0; i < n; i++ {
		c0 := rq.NewPoly()
		if err := readPolys(r.take(per), []polyField{p.qField(c0)}, fmt.Sprintf("encrypted share %d", i)); err != nil {
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

// MarshalShares encodes a party's (flooded) shares for the wire: 32 bytes
// per coefficient.
func (p Params) MarshalShares(sv *SharedVector) ([]byte, error) {
	b := p.header(kindShares)
	b = appendLayout(b, sv.Layout, sv.Len, sv.Chunk, sv.Stride, sv.Scale, len(sv.Shares))
	b = slices.Grow(b, 32*p.N()*len(sv.Shares))
	for _, s := range sv.Shares {
		if s.N() != p.N() {
			return nil, fmt.Errorf("%w: share of %d coefficients, N = %d", ErrShares, s.N(), p.N())
		}
		for _, x := range s.c {
			for _, l := range x {
				b = binary.LittleEndian.AppendUint64(b, l)
			}
		}
	}
	return b, nil
}

// UnmarshalShares decodes shares encoded by MarshalShares.
func (p Params) UnmarshalShares(data []byte) (*SharedVector, error) {
	rest, err := p.readHeader(data, kindShares)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	sv := &SharedVector{}
	var n int
	sv.Layout, sv.Len, sv.Chunk, sv.Stride, sv.Scale, n = r.layout()
	if r.err != nil {
		return nil, fmt.Errorf("shares header: %w", r.err)
	}
	per := 32 * p.N()
	if n > len(r.b)/per || len(r.b) != n*per {
		return nil, fmt.Errorf("%w: %d shares in %d bytes, want %d bytes each", ErrMalformed, n, len(r.b), per)
	}
	if !(sv.Scale >= 1) || sv.Scale > math.Exp2(200) {
		return nil, fmt.Errorf("%w: shares at scale %v", ErrMalformed, sv.Scale)
	}
	for i := 0; i < n; i++ {
		s := NewShare(p.N())
		raw := r.take(per)
		for j := range s.c {
			for l := range s.c[j] {
				s.c[j][l] = binary.LittleEndian.Uint64(raw[32*j+8*l:])
			}
		}
		sv.Shares = append(sv.Shares, s)
	}
	v := sv.shape()
	if err := v.checkLayout(p, n); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return sv, nil
}
