package ot

import (
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/ot/simot"
)

var (
	// ErrMessage is returned for a peer message of the wrong size or
	// content.
	ErrMessage = errors.New("ot: malformed message")
	// ErrState is returned for a call out of the protocol's order.
	ErrState = errors.New("ot: call out of order")
)

// MaxBatch bounds the OTs of one extension (and so the size of its message,
// 16 bytes an OT).
const MaxBatch = 1 << 24

// A Chooser is the receiving end of IKNP OT extension (Ishai, Kilian,
// Nissim and Petrank, CRYPTO 2003): it chooses, and learns one key of each
// OT. It holds both seeds of every base OT.
type Chooser struct {
	h    hasher
	base []simot.Sender // during the setup
	prg  [Kappa][2]cipher.Stream
	next uint64 // OTs extended so far
}

// An Offerer is the sending end: it holds the secret s and the seed s_i of
// every base OT, and learns both keys of each OT but not which one the
// chooser holds.
type Offerer struct {
	h    hasher
	base []simot.Receiver // during the setup
	s    Block
	prg  [Kappa]cipher.Stream
	next uint64
}

// A ChooserBatch is the chooser's side of a batch of random OTs: for OT j
// its choice bit r_j and pi(t_j), from which it derives the key it holds.
type ChooserBatch struct {
	h      hasher
	first  uint64 // session-wide index of OT 0
	n      int
	Choice Bits
	p      []Block
}

// An OffererBatch is the offerer's side: pi(q_j) and pi(q_j ^ s), from which
// it derives both keys of OT j; t_j = q_j ^ r_j s, so the chooser holds the
// one of index r_j.
type OffererBatch struct {
	h     hasher
	first uint64
	n     int
	p     [2][]Block
}

// Len returns the number of OTs of the batch.
func (b *ChooserBatch) Len() int { return b.n }

// Len returns the number of OTs of the batch.
func (b *OffererBatch) Len() int { return b.n }

func (c *Chooser) ready() error {
	if c.base != nil || c.prg[0][0] == nil {
		return fmt.Errorf("%w: extension before the setup", ErrState)
	}
	return nil
}

func (o *Offerer) ready() error {
	if o.base != nil || o.prg[0] == nil {
		return fmt.Errorf("%w: extension before the setup", ErrState)
	}
	return nil
}

func checkBatch(n int) error {
	if n < 1 || n > MaxBatch {
		return fmt.Errorf("ot: a batch of %d OTs, want 1 .. %d", n, MaxBatch)
	}
	return nil
}

// extensionBytes is the size of the chooser's message for n OTs.
func extensionBytes(n int) int { return Kappa * 8 * ((n + 63) / 64) }

// Extend makes n random OTs whose choice bits are choices (n bits; nil: fresh
// random bits). It returns the batch and the message for the offerer's
// Extend: for each base OT i the column u_i = G(k_i^0) ^ G(k_i^1) ^ r, 16
// bytes an OT in all. Batches are numbered in the order made; the offerer
// must take them in the same order.
func (c *Chooser) Extend(n int, choices Bits) (*ChooserBatch, []byte, error) {
	if err := c.ready(); err != nil {
		return nil, nil, err
	}
	if err := checkBatch(n); err != nil {
		return nil, nil, err
	}
	words := (n + 63) / 64
	r := choices
	if r == nil {
		var err error
		if r, err = RandomBits(n); err != nil {
			return nil, nil, err
		}
	} else if len(r) != words {
		return nil, nil, fmt.Errorf("ot: %d words of choice bits for %d OTs", len(r), n)
	}
	var cols [Kappa][]uint64
	msg := make([]byte, extensionBytes(n))
	parallel(Kappa, func(lo, hi int) {
		buf := make([]byte, 8*words)
		for i := lo; i < hi; i++ {
			clear(buf)
			c.prg[i][0].XORKeyStream(buf, buf)
			t := bytesToWords(buf)
			clear(buf)
			c.prg[i][1].XORKeyStream(buf, buf)
			u := bytesToWords(buf)
			for w := range u {
				u[w] ^= t[w] ^ r[w]
			}
			copy(msg[i*8*words:], wordsToBytes(u, 8*words))
			cols[i] = t
		}
	})
	rows := make([]Block, 64*words)
	transposeColumns(&cols, rows)
	b := &ChooserBatch{h: c.h, first: c.next, n: n, Choice: r, p: rows[:n]}
	parallel(n, func(lo, hi int) { c.h.permXor(b.p[lo:hi], b.p[lo:hi], nil) })
	c.next += uint64(64 * words)
	return b, msg, nil
}

// Extend takes the chooser's message for a batch of n OTs.
func (o *Offerer) Extend(n int, msg []byte) (*OffererBatch, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	if err := checkBatch(n); err != nil {
		return nil, err
	}
	words := (n + 63) / 64
	if len(msg) != extensionBytes(n) {
		return nil, fmt.Errorf("%w: extension of %d bytes for %d OTs, want %d", ErrMessage, len(msg), n, extensionBytes(n))
	}
	sbits := Bits{o.s[0], o.s[1]}
	var cols [Kappa][]uint64
	parallel(Kappa, func(lo, hi int) {
		buf := make([]byte, 8*words)
		for i := lo; i < hi; i++ {
			clear(buf)
			o.prg[i].XORKeyStream(buf, buf)
			q := bytesToWords(buf)
			if sbits.Get(i) == 1 {
				u := bytesToWords(msg[i*8*words : (i+1)*8*words])
				for w := range q {
					q[w] ^= u[w]
				}
			}
			cols[i] = q
		}
	})
	rows := make([]Block, 64*words)
	transposeColumns(&cols, rows)
	b := &OffererBatch{h: o.h, first: o.next, n: n, p: [2][]Block{rows[:n], make([]Block, n)}}
	parallel(n, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			b.p[1][j] = b.p[0][j].xor(o.s)
		}
		o.h.permXor(b.p[0][lo:hi], b.p[0][lo:hi], nil)
		o.h.permXor(b.p[1][lo:hi], b.p[1][lo:hi], nil)
	})
	o.next += uint64(64 * words)
	return b, nil
}

// Tweak domains: every hash call of a session has a distinct tweak, the OT's
// session-wide index in the low word and the use in the high word.
const (
	domainChoose    = 1 << 62
	domainCorrelate = 2 << 62
)

func tweak(ot uint64, domain, x uint64) Block { return Block{ot, domain | x} }
