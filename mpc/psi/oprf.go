package psi

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/veil-fl/veil/mpc/ot"
)

// The KKRT batched OPRF (Kolesnikov, Kumaresan, Rosulek and Trieu,
// "Efficient Batched Oblivious PRF with Applications to Private Set
// Intersection", CCS 2016, section 3): IKNP with the receiver's choice bits
// replaced by the codewords C(r_b) of a pseudorandom code of width oprfWidth.
//
// Base OTs: the sender draws s (oprfWidth bits) and receives seed k_j^(s_j)
// of each pair (k_j^0, k_j^1) the receiver drew. Per bin b (a row) and code
// bit j (a column), with G(k) AES-128 in counter mode keyed by k:
//
//	receiver: t^j = G(k_j^0), u^j = t^j ^ G(k_j^1) ^ c^j   (sends u)
//	sender:   q^j = G(k_j^(s_j)) ^ s_j u^j
//
// so q_b = t_b ^ (C(r_b) & s). The OPRF of bin b is
// F_b(x) = H(b, q_b ^ (C(x) & s)): the receiver knows F_b(r_b) = H(b, t_b),
// the sender F_b at any point. For x != r_b, C(x) ^ C(r_b) has at least
// 128 ones (below), so F_b(x) hides behind at least 128 bits of s the
// receiver lacks.

const (
	// oprfWidth is the code width k: 512 bits, four AES blocks (libOTe's
	// and secretflow/psi's KKRT use 512 too). With C a random function of
	// width 512, two inputs' codewords are within 127 bits of each other
	// with probability 2^-102.3, so over the fewer than 2^54 pairs of code
	// inputs of a session of MaxKKRTIDs ids a side every distance is at
	// least 128 (the security parameter KKRT16 asks) but for probability
	// 2^-48.
	oprfWidth = 512
	oprfWords = oprfWidth / 64
	// oprfChunk is the number of bins processed together (a 512 KiB
	// matrix); a multiple of 128 so that every chunk starts on an AES block
	// of the column streams.
	oprfChunk = 8192
)

// An oprfRow is one row of the OPRF matrices: 512 bits, bit j of the row in
// word j/64 at position j%64.
type oprfRow [oprfWords]uint64

// oprfCode is the pseudorandom code C: four AES-128 encryptions of the
// 16-byte input under keys derived from the session's joint seed (public to
// both parties, drawn after their sets are fixed).
type oprfCode struct{ c [oprfWords / 2]cipher.Block }

func newOPRFCode(joint [32]byte) (*oprfCode, error) {
	var code oprfCode
	for t := range code.c {
		h := sha256.New()
		h.Write([]byte("veil psi kkrt v1 code key\x00"))
		h.Write(joint[:])
		h.Write([]byte{byte(t)})
		b, err := aes.NewCipher(h.Sum(nil)[:16])
		if err != nil {
			return nil, fmt.Errorf("psi: KKRT code key: %w", err)
		}
		code.c[t] = b
	}
	return &code, nil
}

// encode sets dst = C(in). buf is 32 bytes of the caller's heap scratch:
// what goes through the cipher.Block interface escapes, and a stack array
// would cost an allocation a call.
func (c *oprfCode) encode(dst *oprfRow, in *[16]byte, buf []byte) {
	src, out := buf[:16], buf[16:32]
	copy(src, in[:])
	for t, b := range c.c {
		b.Encrypt(out, src)
		dst[2*t] = binary.LittleEndian.Uint64(out[:8])
		dst[2*t+1] = binary.LittleEndian.Uint64(out[8:])
	}
}

// oprfHash is H(b, v) truncated to len(dst) bytes: SHA-256 of a domain tag
// with the bin, then the row.
func oprfHash(dst []byte, b int, v *oprfRow) {
	var buf [8 + 8 + oprfWidth/8]byte
	copy(buf[:8], "vkkrt1\x00\x00")
	binary.LittleEndian.PutUint64(buf[8:], uint64(b))
	for w, x := range v {
		binary.LittleEndian.PutUint64(buf[16+8*w:], x)
	}
	sum := sha256.Sum256(buf[:])
	copy(dst, sum[:])
}

// oprfPad rounds a number of bins up to whole AES blocks of the column
// streams (128 bins).
func oprfPad(m int) int { return (m + 127) / 128 * 128 }

// oprfMatrixBytes is the size of the receiver's matrix u for m bins.
func oprfMatrixBytes(m int) int { return oprfPad(m) * oprfWidth / 8 }

// oprfStream returns G(k) from bin lo on (lo a multiple of 128).
func oprfStream(k cipher.Block, lo int) cipher.Stream {
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(lo/128))
	return cipher.NewCTR(k, iv[:])
}

func newSeedCipher(seed []byte) (cipher.Block, error) {
	b, err := aes.NewCipher(seed)
	if err != nil {
		return nil, fmt.Errorf("psi: KKRT base-OT seed: %w", err)
	}
	return b, nil
}

// oprfScratch is one worker's chunk buffers.
type oprfScratch struct {
	rows []oprfRow
	cols [oprfWidth][]uint64
	a, b []uint64
	buf  []byte
	aes  []byte // encode's scratch
}

func newOPRFScratch() *oprfScratch {
	s := &oprfScratch{rows: make([]oprfRow, oprfChunk), buf: make([]byte, oprfChunk/8), aes: make([]byte, 32)}
	words := make([]uint64, oprfWidth*oprfChunk/64)
	for j := range s.cols {
		s.cols[j] = words[j*oprfChunk/64 : (j+1)*oprfChunk/64]
	}
	return s
}

// stream reads n/64 words of G(k) from bin lo into dst.
func (s *oprfScratch) stream(dst []uint64, k cipher.Block, lo, n int) {
	buf := s.buf[:n/8]
	clear(buf)
	oprfStream(k, lo).XORKeyStream(buf, buf)
	for g := range dst[:n/64] {
		dst[g] = binary.LittleEndian.Uint64(buf[8*g:])
	}
}

// rowsToCols transposes n rows (n a multiple of 64) into the columns.
func rowsToCols(rows []oprfRow, cols *[oprfWidth][]uint64, n int) {
	var tile [64]uint64
	for g := range n / 64 {
		for w := range oprfWords {
			for i := range 64 {
				tile[i] = rows[64*g+i][w]
			}
			ot.Transpose64(&tile)
			for k := range 64 {
				cols[64*w+k][g] = tile[k]
			}
		}
	}
}

// colsToRows is the inverse of rowsToCols.
func colsToRows(cols *[oprfWidth][]uint64, rows []oprfRow, n int) {
	var tile [64]uint64
	for g := range n / 64 {
		for w := range oprfWords {
			for k := range 64 {
				tile[k] = cols[64*w+k][g]
			}
			ot.Transpose64(&tile)
			for i := range 64 {
				rows[64*g+i][w] = tile[i]
			}
		}
	}
}

// forChunks runs f on every chunk of m bins on GOMAXPROCS workers, each with
// its own scratch, and stops early when ctx is done.
func forChunks(ctx context.Context, m int, f func(s *oprfScratch, lo, n int)) error {
	chunks := (m + oprfChunk - 1) / oprfChunk
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newOPRFScratch()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks || ctx.Err() != nil {
					return
				}
				lo := c * oprfChunk
				f(s, lo, min(oprfChunk, m-lo))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// kkrtSplit runs f over [0, n) in contiguous ranges on GOMAXPROCS
// goroutines.
func kkrtSplit(n int, f func(lo, hi int)) {
	g := min(runtime.GOMAXPROCS(0), max(n/1024, 1))
	chunk := (n + g - 1) / g
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}

// oprfReceive is the receiver's side for len(in) bins (a multiple of 128):
// it writes the matrix u (chunk by chunk, column by column within a chunk,
// little-endian words; oprfMatrixBytes(len(in)) bytes) and sets
// out[b*outLen:(b+1)*outLen] = F_b(in[b]) for every bin with used[b] != 0.
func oprfReceive(ctx context.Context, seeds *[oprfWidth][2]cipher.Block, code *oprfCode, in [][16]byte, used []int32, outLen int, u, out []byte) error {
	m := len(in)
	if len(u) != oprfMatrixBytes(m) {
		return fmt.Errorf("psi: KKRT matrix of %d bytes for %d bins", len(u), m)
	}
	return forChunks(ctx, m, func(s *oprfScratch, lo, n int) {
		for b := range n {
			code.encode(&s.rows[b], &in[lo+b], s.aes)
		}
		rowsToCols(s.rows, &s.cols, n) // the codewords' columns c^j
		if s.a == nil {
			s.a, s.b = make([]uint64, oprfChunk/64), make([]uint64, oprfChunk/64)
		}
		words := n / 64
		base := lo * oprfWidth / 8
		for j := range oprfWidth {
			s.stream(s.a, seeds[j][0], lo, n) // t^j
			s.stream(s.b, seeds[j][1], lo, n)
			c := s.cols[j]
			at := base + j*n/8
			for g := range words {
				binary.LittleEndian.PutUint64(u[at+8*g:], s.a[g]^s.b[g]^c[g])
				c[g] = s.a[g] // the column of t replaces c^j
			}
		}
		colsToRows(&s.cols, s.rows, n) // rows t_b
		for b := range n {
			if used[lo+b] != 0 {
				oprfHash(out[(lo+b)*outLen:(lo+b+1)*outLen], lo+b, &s.rows[b])
			}
		}
	})
}

// oprfSend is the sender's side: from its seeds k_j^(s_j) and the
// receiver's matrix u for m bins (a multiple of 128), the rows q_b.
func oprfSend(ctx context.Context, seeds *[oprfWidth]cipher.Block, s ot.Bits, u []byte, m int) ([]oprfRow, error) {
	q := make([]oprfRow, m)
	err := forChunks(ctx, m, func(sc *oprfScratch, lo, n int) {
		words := n / 64
		base := lo * oprfWidth / 8
		for j := range oprfWidth {
			col := sc.cols[j]
			sc.stream(col, seeds[j], lo, n)
			if s.Get(j) == 1 {
				at := base + j*n/8
				for g := range words {
					col[g] ^= binary.LittleEndian.Uint64(u[at+8*g:])
				}
			}
		}
		colsToRows(&sc.cols, q[lo:lo+n], n)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// oprfEval is the sender's F_b(in) = H(b, q_b ^ (C(in) & s)) into dst
// (buf: encode's scratch).
func oprfEval(dst []byte, code *oprfCode, q []oprfRow, s *oprfRow, b int, in *[16]byte, buf []byte) {
	var v oprfRow
	code.encode(&v, in, buf)
	qb := &q[b]
	for w := range v {
		v[w] = qb[w] ^ v[w]&s[w]
	}
	oprfHash(dst, b, &v)
}
