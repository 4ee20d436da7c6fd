package psi

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sync"

	"github.com/veil-fl/veil/mpc/ot"
)

// KKRT PSI: private set intersection from oblivious-transfer extension for
// balanced sets (issue 21), after Kolesnikov, Kumaresan, Rosulek and Trieu,
// "Efficient Batched Oblivious PRF with Applications to Private Set
// Intersection", CCS 2016 (KKRT16): PSI from their batched OPRF with the
// cuckoo-hashing layout of Pinkas, Schneider, Segev and Zohner.
//
// # Protocol
//
// The receiver learns the intersection first and tells the sender. Six
// messages, sizes at 10^6 ids a side:
//
//  1. [KKRTSender.Hello]: the sender's set size, a 16-byte seed half and
//     the first message of mpc/ot's base OTs (4 KiB).
//  2. [KKRTReceiver.Setup]: the receiver's set size, its seed half and the
//     base-OT answer (4 KiB). The session seed is SHA-256 of both halves; it
//     keys the id hash, the cuckoo hash functions and the code C.
//  3. [KKRTSender.Base]: the base OTs' sealed seeds, an IKNP extension to
//     1,024 OTs and their derandomization (27 KiB): the sender asks for half
//     j of seed pair j/2 with its secret bit s_(j/2), s being the OPRF key
//     (512 random bits).
//  4. [KKRTReceiver.Codes]: the receiver hashes its ids into a cuckoo table
//     (cuckoo.go: 3 hash functions, no stash, 1.32 bins an id), sends the
//     512 seed pairs through those OTs (16 KiB) and the OPRF matrix u
//     (oprf.go: 64 bytes a bin, 84 MB).
//  5. [KKRTSender.Encode]: the sender's three OPRF values of each id x, one
//     per hash function f, F_(h_f(x))(x, f), in a secret random order
//     (3 x 10 bytes an id, 30 MB).
//  6. [KKRTReceiver.Match]: the receiver looks each value up among its own
//     (each bin's id with the hash function that placed it), sorts the
//     matched positions by the sender's values and sends them (4 bytes a
//     shared id, 2 MB).
//
// Both parties then hold the intersection in one order (that of the
// sender's values, a pseudorandom order neither input decides) and the same
// [Result.Digest], SHA-256 over the matched values in that order: the same
// contract as the ECDH [Party], so alignment can use either.
//
// # Parameters
//
//   - Code width 512 bits (four AES-128 blocks under keys from the session
//     seed). KKRT16 takes the code's minimum distance to be at least the
//     computational security parameter 128; two inputs of a random 512-bit
//     code are closer with probability 2^-102.3, so across a session of up
//     to 2^25 ids a side (fewer than 2^54 pairs of code inputs) every
//     distance is >= 128 but for probability 2^-48. KKRT16 sizes the code by
//     this distance argument; libOTe's and secretflow/psi's KKRT use 512 bits
//     too.
//   - Base OTs: mpc/ot (128 Simplest OTs, circl's ot/simot over
//     ristretto255, extended with IKNP) carry the 512 seed pairs as 1,024
//     1-out-of-2 OTs of 64-bit halves. G is AES-128 in counter mode keyed by
//     a seed; H is SHA-256 of the bin and the 512-bit row.
//   - Cuckoo hashing: 3 hash functions, no stash, ceil(e n) bins with
//     e = (40 + log2 n + 256) / 240, the experimental fit for failure below
//     2^-40 that cryptoTools/libOTe and secretflow/psi use (after Pinkas,
//     Schneider, Tkachenko and Yanai, EUROCRYPT 2019), and the table of
//     4,096 ids for smaller sets (cuckoo.go). The sender hashes each id to all
//     three bins (simple hashing), so only the receiver's placement can fail.
//   - OPRF values: 40 + ceil(log2 nR) + ceil(log2 max(nS, nR)) bits,
//     rounded up to bytes (10 bytes at 10^6 x 10^6): the nS nR comparisons
//     (a sender value is compared with the receiver ids placed by the same
//     hash function) give a false match, and two of the receiver's values
//     coincide, with probability below 2^-40.
//
// # What each party learns
//
// Both learn the peer's set size (steps 1 and 2), the intersection (which
// of their own rows are shared) in the common order, and the digest.
// Nothing else: the sender sees the base-OT messages, the matrix u (each
// column masked by the stream of the seed it did not choose) and the
// positions of its own shared ids in its own shuffled message, which name
// the intersection and nothing more. The receiver sees the sender's OPRF
// values: those of ids it holds equal its own, and the others are outputs of
// F_b at points other than the one input it has in bin b, which look random
// without s (the OPRF's security: C(x) ^ C(r_b) has at least 128 ones that
// s keeps secret, and H is a random oracle). The sender's order is a fresh
// secret shuffle, so the positions tell the receiver nothing about where
// ids sit in the sender's table. A cuckoo failure (ErrCuckoo, below 2^-40
// for any set fixed before the session's seed) stops the receiver before
// step 4; the sender sees only that it stopped.
//
// # Security
//
// Semi-honest, as KKRT16 proves its PSI, like the ECDH protocol: a peer that deviates can make the
// intersection come out wrong (the sender by sending other values; the
// receiver by naming positions that did not match), and can be caught in
// some of it: the steps refuse messages of the wrong size, positions out of
// range, out of the common order or repeated, and a value that matches two
// of the receiver's rows. Malicious security would need KKRT's consistency
// checks (or RR22 / VOLE-PSI), which Veil's threat model does not ask for.
// Keys, seeds and the OPRF key s come from crypto/rand; a session's parties
// serve one run.
//
// # Cost
//
// BenchmarkKKRT1M (10^6 x 10^6 ids, half shared, both parties in one
// process, the 2-core development machine at load 5 to 20 from other work):
// 7.7 to 18 s wall, 4.4 to 5 CPU-seconds in all, 0.7 GB allocated; the
// sender sends 30 MB and the receiver 86 MB. The ECDH PSI takes 126 to 142
// s at that size (about 260 CPU-seconds); at 10^5 x 10^5 ids in the same
// run KKRT took 1.6 s against ECDH's 84 s (bench psi_100k_kkrt, load 20).

// ErrKKRTOrder means a KKRT step was called out of the protocol's order or
// twice.
var ErrKKRTOrder = errors.New("psi: KKRT step out of order")

// kkrtParty is what both KKRT roles share: the ids, randomness, and the
// session's public hashing material once both seeds are known.
type kkrtParty struct {
	ids     []string
	rng     io.Reader
	seed    [kkrtSeedBytes]byte // this party's half of the session seed
	nPeer   int
	joint   [32]byte
	code    *oprfCode
	outLen  int // bytes of an OPRF value
	m       int // cuckoo bins (padded to oprfPad)
	step    int
	encoded []byte // the sender's KKRTEncoded body (both keep it)
	res     *Result
}

func newKKRTParty(ids []string, rng io.Reader) (kkrtParty, error) {
	if len(ids) == 0 {
		return kkrtParty{}, ErrEmptySet
	}
	if len(ids) > MaxKKRTIDs {
		return kkrtParty{}, fmt.Errorf("psi: %d ids, more than the KKRT limit of %d", len(ids), MaxKKRTIDs)
	}
	seen := make(map[string]int32, len(ids))
	for i, id := range ids {
		if id == "" {
			return kkrtParty{}, fmt.Errorf("%w at row %d", ErrEmptyID, i)
		}
		if j, ok := seen[id]; ok {
			return kkrtParty{}, fmt.Errorf("%w at rows %d and %d", ErrDuplicateID, j, i)
		}
		seen[id] = int32(i)
	}
	if rng == nil {
		rng = rand.Reader
	}
	p := kkrtParty{ids: ids, rng: rng}
	if _, err := io.ReadFull(rng, p.seed[:]); err != nil {
		return kkrtParty{}, fmt.Errorf("psi: reading randomness: %w", err)
	}
	return p, nil
}

// kkrtOutLen is the length of an OPRF value: 40 + log2(nR max(nS, nR))
// bits, so that the nS nR comparisons the receiver makes (each sender value
// against the receiver's ids placed with the same hash function) all miss,
// and the receiver's own nR values are distinct, but for probability 2^-40.
func kkrtOutLen(nS, nR int) int {
	bits := kkrtStatSecurity + math.Ceil(math.Log2(float64(nR))) + math.Ceil(math.Log2(float64(max(nS, nR))))
	return int(math.Ceil(bits / 8))
}

// session derives the public material from both seeds (sender's first).
func (p *kkrtParty) session(seedS, seedR []byte, nS, nR int) error {
	h := sha256.New()
	h.Write([]byte("veil psi kkrt v1 session\x00"))
	h.Write(seedS)
	h.Write(seedR)
	h.Sum(p.joint[:0])
	code, err := newOPRFCode(p.joint)
	if err != nil {
		return err
	}
	p.code = code
	p.outLen = kkrtOutLen(nS, nR)
	p.m = oprfPad(cuckooBins(nR))
	return nil
}

// kkrtItem is an id hashed under the session seed: 16 bytes that stand for
// it in the OPRF and its three candidate bins.
type kkrtItem struct {
	id  [16]byte
	bin [cuckooHashes]uint32
}

// hashIDs hashes every id with SHA-256 keyed by the joint seed; the bins
// are of a table of cuckooBins(nR) bins (the padding bins stay empty).
func (p *kkrtParty) hashIDs(nR int) []kkrtItem {
	bins := cuckooBins(nR)
	items := make([]kkrtItem, len(p.ids))
	kkrtSplit(len(p.ids), func(lo, hi int) {
		var buf []byte
		for i := lo; i < hi; i++ {
			buf = append(append(append(buf[:0], "vkkrt1id"...), p.joint[:16]...), p.ids[i]...)
			sum := sha256.Sum256(buf)
			it := &items[i]
			copy(it.id[:], sum[:16])
			for f := range cuckooHashes {
				it.bin[f] = cuckooBin(binary.LittleEndian.Uint64(sum[8+8*f:]), bins)
			}
		}
	})
	return items
}

// input is the OPRF input of an id placed with hash function f.
func (it *kkrtItem) input(f int) [16]byte {
	in := it.id
	in[15] ^= byte(f)
	return in
}

// digest hashes the matched value triples in the common order.
func kkrtDigest(encoded []byte, outLen int, pos []uint32) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil psi kkrt v1 intersection\x00"))
	w := cuckooHashes * outLen
	for _, j := range pos {
		h.Write(encoded[int(j)*w : (int(j)+1)*w])
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// A KKRTSender is the party of the KKRT protocol that evaluates the OPRF on
// its own ids and sends the values; it learns the intersection from the
// receiver's [KKRTMatches]. Call [KKRTSender.Hello], [KKRTSender.Base],
// [KKRTSender.Encode] and [KKRTSender.Finish] in order, each once, with the
// receiver's messages. Not safe for concurrent use; its steps use all
// cores.
type KKRTSender struct {
	kkrtParty
	chooser *ot.Chooser
	batch   *ot.ChooserBatch
	s       ot.Bits // the OPRF key s (oprfWidth bits)
	perm    []int32 // perm[j] is the row whose values went out at position j
}

// NewKKRTSender checks ids (non-empty, distinct, at most [MaxKKRTIDs]) and
// returns the sender for them, with randomness from rng (nil: crypto/rand;
// tests may pass a seeded source; the OT keys always come from
// crypto/rand).
func NewKKRTSender(ids []string, rng io.Reader) (*KKRTSender, error) {
	p, err := newKKRTParty(ids, rng)
	if err != nil {
		return nil, err
	}
	return &KKRTSender{kkrtParty: p}, nil
}

func (p *kkrtParty) advance(step int, name string) error {
	if p.step != step {
		return fmt.Errorf("%w: %s called at step %d, want step %d", ErrKKRTOrder, name, p.step, step)
	}
	p.step++
	return nil
}

// Hello starts the protocol: the sender's set size, its half of the session
// seed and the first base-OT message.
func (s *KKRTSender) Hello(ctx context.Context) (*KKRTMessage, error) {
	if err := s.advance(0, "Hello"); err != nil {
		return nil, err
	}
	c, offer, err := ot.NewChooser()
	if err != nil {
		return nil, fmt.Errorf("psi: KKRT base OTs: %w", err)
	}
	if len(offer) != kkrtOfferBytes {
		return nil, fmt.Errorf("psi: KKRT base-OT offer of %d bytes, want %d", len(offer), kkrtOfferBytes)
	}
	s.chooser = c
	body := binary.BigEndian.AppendUint64(make([]byte, 0, kkrtHelloBytes), uint64(len(s.ids)))
	body = append(append(body, s.seed[:]...), offer...)
	return &KKRTMessage{kind: KKRTHello, body: body}, ctx.Err()
}

// Base takes the receiver's [KKRTSetup] and returns the rest of the base
// OTs, in which the sender asks for seed s_j of each of the receiver's
// pairs.
func (s *KKRTSender) Base(ctx context.Context, setup *KKRTMessage) (*KKRTMessage, error) {
	if err := s.advance(1, "Base"); err != nil {
		return nil, err
	}
	if err := setup.expect("Base", KKRTSetup); err != nil {
		return nil, err
	}
	nR, err := readSize(setup.body, "receiver")
	if err != nil {
		return nil, err
	}
	s.nPeer = nR
	if err := s.session(s.seed[:], setup.body[8:8+kkrtSeedBytes], len(s.ids), nR); err != nil {
		return nil, err
	}
	sealed, err := s.chooser.Accept(setup.body[8+kkrtSeedBytes:])
	if err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	if s.s, err = ot.RandomBits(oprfWidth); err != nil {
		return nil, err
	}
	batch, cols, err := s.chooser.Extend(kkrtBaseOTs, nil)
	if err != nil {
		return nil, fmt.Errorf("psi: KKRT base OTs: %w", err)
	}
	d, err := batch.Derandomize(0, kkrtBaseOTs, 1, s.choice)
	if err != nil {
		return nil, fmt.Errorf("psi: KKRT base OTs: %w", err)
	}
	if len(sealed)+len(cols)+len(d) != kkrtBaseBytes {
		return nil, fmt.Errorf("psi: KKRT base OTs of %d bytes, want %d", len(sealed)+len(cols)+len(d), kkrtBaseBytes)
	}
	s.batch = batch
	body := append(append(append(make([]byte, 0, kkrtBaseBytes), sealed...), cols...), d...)
	return &KKRTMessage{kind: KKRTBase, body: body}, ctx.Err()
}

// choice is base OT i's choice: s_j for both 64-bit halves of seed j.
func (s *KKRTSender) choice(i int) uint { return s.s.Get(i / 2) }

// Encode takes the receiver's [KKRTCodes], finishes the OPRF and returns
// the OPRF values of the sender's ids: for each id, in a secret random
// order, F_{h_f(x)}(x, f) for the three hash functions f.
func (s *KKRTSender) Encode(ctx context.Context, codes *KKRTMessage) (*KKRTMessage, error) {
	if err := s.advance(2, "Encode"); err != nil {
		return nil, err
	}
	if err := codes.expect("Encode", KKRTCodes); err != nil {
		return nil, err
	}
	if want := kkrtSeedOfferByte + oprfMatrixBytes(s.m); len(codes.body) != want {
		return nil, fmt.Errorf("%w: %v body of %d bytes, want %d (the base-OT messages and 64 bytes a bin for %d bins)",
			ErrMalformedMessage, KKRTCodes, len(codes.body), want, s.m)
	}
	halves, err := s.batch.Receive(0, kkrtBaseOTs, 1, 64, s.choice, codes.body[:kkrtSeedOfferByte])
	if err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	var seeds [oprfWidth]cipher.Block
	var key [16]byte
	for j := range seeds {
		binary.LittleEndian.PutUint64(key[:8], halves[2*j])
		binary.LittleEndian.PutUint64(key[8:], halves[2*j+1])
		if seeds[j], err = newSeedCipher(key[:]); err != nil {
			return nil, err
		}
	}
	clear(key[:])
	s.chooser, s.batch = nil, nil
	q, err := oprfSend(ctx, &seeds, s.s, codes.body[kkrtSeedOfferByte:], s.m)
	if err != nil {
		return nil, err
	}
	var sRow oprfRow
	for w := range sRow {
		sRow[w] = s.s[w]
	}
	items := s.hashIDs(s.nPeer)
	var shuffleSeed [32]byte
	if _, err := io.ReadFull(s.rng, shuffleSeed[:]); err != nil {
		return nil, fmt.Errorf("psi: reading randomness: %w", err)
	}
	s.perm = make([]int32, len(s.ids))
	for i := range s.perm {
		s.perm[i] = int32(i)
	}
	mrand.New(mrand.NewChaCha8(shuffleSeed)).Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
	w := cuckooHashes * s.outLen
	out := make([]byte, len(s.ids)*w)
	kkrtSplit(len(s.ids), func(lo, hi int) {
		buf := make([]byte, 32)
		var in [16]byte
		for j := lo; j < hi; j++ {
			it := &items[s.perm[j]]
			for f := range cuckooHashes {
				in = it.input(f)
				oprfEval(out[j*w+f*s.outLen:j*w+(f+1)*s.outLen], s.code, q, &sRow, int(it.bin[f]), &in, buf)
			}
		}
	})
	clear(s.s)
	s.encoded = out
	return &KKRTMessage{kind: KKRTEncoded, body: out}, ctx.Err()
}

// Finish takes the receiver's [KKRTMatches] and returns the intersection in
// the common order ([ErrEmptyIntersection] if there is none). It checks
// that the positions are in range and in the common order (which makes them
// distinct).
func (s *KKRTSender) Finish(ctx context.Context, matches *KKRTMessage) (*Result, error) {
	if err := s.advance(3, "Finish"); err != nil {
		return nil, err
	}
	if err := matches.expect("Finish", KKRTMatches); err != nil {
		return nil, err
	}
	pos, err := readMatches(matches.body, len(s.ids), s.nPeer)
	if err != nil {
		return nil, err
	}
	w := cuckooHashes * s.outLen
	for i := 1; i < len(pos); i++ {
		a, b := int(pos[i-1]), int(pos[i])
		if bytes.Compare(s.encoded[a*w:(a+1)*w], s.encoded[b*w:(b+1)*w]) >= 0 {
			return nil, fmt.Errorf("%w: %v: matches %d and %d are not in the common order", ErrMalformedMessage, KKRTMatches, i-1, i)
		}
	}
	if len(pos) == 0 {
		return nil, ErrEmptyIntersection
	}
	res := &Result{Rows: make([]int, len(pos)), Digest: kkrtDigest(s.encoded, s.outLen, pos)}
	for i, j := range pos {
		res.Rows[i] = int(s.perm[j])
	}
	s.encoded = nil
	return res, ctx.Err()
}

// readMatches parses a KKRTMatches body: a count and as many positions
// below nS, at most min(nS, nR) of them.
func readMatches(body []byte, nS, nR int) ([]uint32, error) {
	n := binary.BigEndian.Uint64(body)
	if n > uint64(min(nS, nR)) || uint64(len(body)-8) != 4*n {
		return nil, fmt.Errorf("%w: %v announces %d matches in %d bytes (at most %d matches, 4 bytes each)",
			ErrMalformedMessage, KKRTMatches, n, len(body)-8, min(nS, nR))
	}
	pos := make([]uint32, n)
	for i := range pos {
		pos[i] = binary.BigEndian.Uint32(body[8+4*i:])
		if int(pos[i]) >= nS {
			return nil, fmt.Errorf("%w: %v: match %d at position %d of %d", ErrMalformedMessage, KKRTMatches, i, pos[i], nS)
		}
	}
	return pos, nil
}

// A KKRTReceiver is the party that puts its ids into a cuckoo table, gets
// the OPRF value of each bin's id, and finds the intersection among the
// sender's values; it tells the sender the positions that matched. Call
// [KKRTReceiver.Setup], [KKRTReceiver.Codes] and [KKRTReceiver.Match] in
// order, each once, then [KKRTReceiver.Result]. Not safe for concurrent
// use; its steps use all cores.
type KKRTReceiver struct {
	kkrtParty
	offerer *ot.Offerer
	seeds   [oprfWidth][2][16]byte
	values  map[[16]byte]int32 // OPRF value and hash function -> row
}

// NewKKRTReceiver checks ids (non-empty, distinct, at most [MaxKKRTIDs])
// and returns the receiver for them, with randomness from rng (nil:
// crypto/rand; tests may pass a seeded source; the base-OT seeds and keys
// always come from crypto/rand).
func NewKKRTReceiver(ids []string, rng io.Reader) (*KKRTReceiver, error) {
	p, err := newKKRTParty(ids, rng)
	if err != nil {
		return nil, err
	}
	return &KKRTReceiver{kkrtParty: p}, nil
}

// Setup takes the sender's [KKRTHello] and answers with the receiver's set
// size, its half of the seed and the base-OT answer.
func (r *KKRTReceiver) Setup(ctx context.Context, hello *KKRTMessage) (*KKRTMessage, error) {
	if err := r.advance(0, "Setup"); err != nil {
		return nil, err
	}
	if err := hello.expect("Setup", KKRTHello); err != nil {
		return nil, err
	}
	nS, err := readSize(hello.body, "sender")
	if err != nil {
		return nil, err
	}
	r.nPeer = nS
	if err := r.session(hello.body[8:8+kkrtSeedBytes], r.seed[:], nS, len(r.ids)); err != nil {
		return nil, err
	}
	o, answer, err := ot.NewOfferer(hello.body[8+kkrtSeedBytes:])
	if err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	r.offerer = o
	body := binary.BigEndian.AppendUint64(make([]byte, 0, kkrtSetupBytes), uint64(len(r.ids)))
	body = append(append(body, r.seed[:]...), answer...)
	return &KKRTMessage{kind: KKRTSetup, body: body}, ctx.Err()
}

// Codes takes the sender's [KKRTBase], places the receiver's ids in the
// cuckoo table ([ErrCuckoo] if they do not fit: nothing is sent) and
// returns the base OTs' last message with the OPRF matrix u.
func (r *KKRTReceiver) Codes(ctx context.Context, base *KKRTMessage) (*KKRTMessage, error) {
	if err := r.advance(1, "Codes"); err != nil {
		return nil, err
	}
	if err := base.expect("Codes", KKRTBase); err != nil {
		return nil, err
	}
	items := r.hashIDs(len(r.ids))
	cand := make([][cuckooHashes]uint32, len(items))
	for i := range items {
		cand[i] = items[i].bin
	}
	var shuffleSeed [32]byte
	if _, err := io.ReadFull(r.rng, shuffleSeed[:]); err != nil {
		return nil, fmt.Errorf("psi: reading randomness: %w", err)
	}
	rnd := mrand.New(mrand.NewChaCha8(shuffleSeed))
	table, err := cuckooInsert(cand, cuckooBins(len(r.ids)), rnd)
	if err != nil {
		return nil, err
	}

	b := base.body
	if err := r.offerer.Finish(b[:kkrtSealedBytes]); err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	batch, err := r.offerer.Extend(kkrtBaseOTs, b[kkrtSealedBytes:kkrtSealedBytes+kkrtColumnBytes])
	if err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	for j := range r.seeds {
		for v := range 2 {
			if _, err := rand.Read(r.seeds[j][v][:]); err != nil {
				return nil, fmt.Errorf("psi: reading randomness: %w", err)
			}
		}
	}
	offer, err := batch.Offer(0, kkrtBaseOTs, 1, 64, b[kkrtSealedBytes+kkrtColumnBytes:], func(i int, x uint) uint64 {
		return binary.LittleEndian.Uint64(r.seeds[i/2][x][8*(i%2):])
	})
	if err != nil {
		return nil, fmt.Errorf("%w: KKRT base OTs: %v", ErrMalformedMessage, err)
	}
	r.offerer = nil
	var seeds [oprfWidth][2]cipher.Block
	for j := range seeds {
		for v := range 2 {
			if seeds[j][v], err = newSeedCipher(r.seeds[j][v][:]); err != nil {
				return nil, err
			}
		}
	}
	r.seeds = [oprfWidth][2][16]byte{}

	// Bin inputs: the id placed there with its hash function, or a random
	// dummy (its value is never used).
	in := make([][16]byte, r.m)
	dummy := make([]byte, 16*r.m)
	if _, err := rand.Read(dummy); err != nil {
		return nil, fmt.Errorf("psi: reading randomness: %w", err)
	}
	used := make([]int32, r.m)
	copy(used, table.slot)
	for bin := range in {
		if used[bin] == 0 {
			copy(in[bin][:], dummy[16*bin:])
			continue
		}
		in[bin] = items[used[bin]-1].input(int(table.fn[bin]))
	}
	out := make([]byte, r.m*r.outLen)
	body := make([]byte, kkrtSeedOfferByte+oprfMatrixBytes(r.m))
	copy(body, offer)
	if err := oprfReceive(ctx, &seeds, r.code, in, used, r.outLen, body[kkrtSeedOfferByte:], out); err != nil {
		return nil, err
	}
	r.values = make(map[[16]byte]int32, len(r.ids))
	for bin, v := range used {
		if v == 0 {
			continue
		}
		var key [16]byte
		copy(key[:], out[bin*r.outLen:(bin+1)*r.outLen])
		key[15] = table.fn[bin]
		if other, ok := r.values[key]; ok {
			// Two of this party's ids got one value (probability below
			// 2^-40): one of them could never match, so stop rather than
			// drop it.
			return nil, fmt.Errorf("psi: KKRT: the OPRF values of rows %d and %d collide (probability below 2^-40); run the alignment again", other, v-1)
		}
		r.values[key] = v - 1
	}
	return &KKRTMessage{kind: KKRTCodes, body: body}, ctx.Err()
}

// Match takes the sender's [KKRTEncoded], finds the shared ids and returns
// their positions in the sender's message, sorted by the sender's values
// (the common order), for the sender's [KKRTSender.Finish]. Then
// [KKRTReceiver.Result] gives the receiver's side.
func (r *KKRTReceiver) Match(ctx context.Context, encoded *KKRTMessage) (*KKRTMessage, error) {
	if err := r.advance(2, "Match"); err != nil {
		return nil, err
	}
	if err := encoded.expect("Match", KKRTEncoded); err != nil {
		return nil, err
	}
	w := cuckooHashes * r.outLen
	if len(encoded.body) != r.nPeer*w {
		return nil, fmt.Errorf("%w: %v body of %d bytes, want %d (%d ids, %d values of %d bytes each)",
			ErrMalformedMessage, KKRTEncoded, len(encoded.body), r.nPeer*w, r.nPeer, cuckooHashes, r.outLen)
	}
	type match struct{ pos, row int32 }
	var mu sync.Mutex
	var matches []match
	kkrtSplit(r.nPeer, func(lo, hi int) {
		var mine []match
		for j := lo; j < hi; j++ {
			for f := range cuckooHashes {
				var key [16]byte
				copy(key[:], encoded.body[j*w+f*r.outLen:j*w+(f+1)*r.outLen])
				key[15] = byte(f)
				if row, ok := r.values[key]; ok {
					mine = append(mine, match{int32(j), row})
				}
			}
		}
		mu.Lock()
		matches = append(matches, mine...)
		mu.Unlock()
	})
	r.values = nil
	body := encoded.body
	slices.SortFunc(matches, func(a, b match) int {
		return bytes.Compare(body[int(a.pos)*w:int(a.pos+1)*w], body[int(b.pos)*w:int(b.pos+1)*w])
	})
	seenRow := make(map[int32]bool, len(matches))
	pos := make([]uint32, len(matches))
	rows := make([]int, len(matches))
	for i, m := range matches {
		if i > 0 && bytes.Equal(body[int(m.pos)*w:int(m.pos+1)*w], body[int(matches[i-1].pos)*w:int(matches[i-1].pos+1)*w]) || seenRow[m.row] {
			// A repeated value triple or a row matched twice: a broken
			// peer (or an OPRF collision, probability below 2^-40).
			return nil, fmt.Errorf("%w: %v repeats a value (positions %d and %d)", ErrMalformedMessage, KKRTEncoded, matches[max(i-1, 0)].pos, m.pos)
		}
		seenRow[m.row] = true
		pos[i], rows[i] = uint32(m.pos), int(m.row)
	}
	r.res = &Result{Rows: rows, Digest: kkrtDigest(body, r.outLen, pos)}
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 8+4*len(pos)), uint64(len(pos)))
	for _, p := range pos {
		out = binary.BigEndian.AppendUint32(out, p)
	}
	return &KKRTMessage{kind: KKRTMatches, body: out}, ctx.Err()
}

// Result returns the receiver's intersection in the common order, after
// [KKRTReceiver.Match] ([ErrEmptyIntersection] if there is none).
func (r *KKRTReceiver) Result() (*Result, error) {
	switch {
	case r.res == nil:
		return nil, fmt.Errorf("%w: Result called before Match", ErrKKRTOrder)
	case len(r.res.Rows) == 0:
		return nil, ErrEmptyIntersection
	}
	return r.res, nil
}

// PeerIDs returns the number of ids the receiver announced, once
// [KKRTSender.Base] has read it (0 before): a service that bounds what a
// peer may submit checks it before sending Base's message.
func (s *KKRTSender) PeerIDs() int { return s.nPeer }

// PeerIDs returns the number of ids the sender announced, once
// [KKRTReceiver.Setup] has read it (0 before): a service that bounds what a
// peer may submit checks it before sending Setup's message.
func (r *KKRTReceiver) PeerIDs() int { return r.nPeer }
