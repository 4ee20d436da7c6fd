package ot

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/ot/simot"
)

// Kappa is the computational security parameter: the number of base OTs
// and the width of the extension matrices.
const Kappa = 128

// Sizes of the base-OT messages: a ristretto255 element per base OT, and
// per base OT two AES-GCM encryptions of a 16-byte seed (nonce, seed, tag).
const (
	elementSize = 32
	sealedSize  = 12 + 16 + 16
)

var baseGroup = group.Ristretto255

// prg expands a base-OT seed: AES-128 in counter mode from a zero IV, a
// stream both ends of a base OT read in step.
func prg(seed []byte) (cipher.Stream, error) {
	b, err := aes.NewCipher(seed)
	if err != nil {
		return nil, fmt.Errorf("ot: seed: %w", err)
	}
	return cipher.NewCTR(b, make([]byte, aes.BlockSize)), nil
}

// NewChooser starts the setup on the chooser's side: it draws Kappa pairs
// of random seeds and returns the first message of the Kappa base OTs that
// send them (Simplest OT, Chou and Orlandi, LATINCRYPT 2015, as circl's
// ot/simot implements it: one group element each). The offerer answers with
// NewOfferer; the chooser finishes with Accept.
func NewChooser() (*Chooser, []byte, error) {
	c := &Chooser{h: newHasher(), base: make([]simot.Sender, Kappa)}
	msg := make([]byte, 0, Kappa*elementSize)
	for i := range Kappa {
		var seeds [2][16]byte
		if _, err := rand.Read(seeds[0][:]); err != nil {
			return nil, nil, fmt.Errorf("ot: randomness: %w", err)
		}
		if _, err := rand.Read(seeds[1][:]); err != nil {
			return nil, nil, fmt.Errorf("ot: randomness: %w", err)
		}
		for b := range 2 {
			s, err := prg(seeds[b][:])
			if err != nil {
				return nil, nil, err
			}
			c.prg[i][b] = s
		}
		a := c.base[i].InitSender(baseGroup, seeds[0][:], seeds[1][:], i)
		enc, err := a.MarshalBinary()
		if err != nil {
			return nil, nil, fmt.Errorf("ot: base OT %d: %w", i, err)
		}
		msg = append(msg, enc...)
	}
	return c, msg, nil
}

// NewOfferer answers the chooser's first setup message: it draws the secret
// s (Kappa random bits) and, for each base OT i, asks for seed s_i. The
// chooser answers with Accept; the offerer finishes with Finish.
func NewOfferer(msg []byte) (*Offerer, []byte, error) {
	if len(msg) != Kappa*elementSize {
		return nil, nil, fmt.Errorf("%w: base-OT offer of %d bytes, want %d", ErrMessage, len(msg), Kappa*elementSize)
	}
	s, err := RandomBits(Kappa)
	if err != nil {
		return nil, nil, err
	}
	o := &Offerer{h: newHasher(), s: Block{s[0], s[1]}, base: make([]simot.Receiver, Kappa)}
	out := make([]byte, 0, Kappa*elementSize)
	for i := range Kappa {
		a := baseGroup.NewElement()
		if err := a.UnmarshalBinary(msg[i*elementSize : (i+1)*elementSize]); err != nil {
			return nil, nil, fmt.Errorf("%w: base OT %d: %v", ErrMessage, i, err)
		}
		b := o.base[i].Round1Receiver(baseGroup, int(s.Get(i)), i, a)
		enc, err := b.MarshalBinary()
		if err != nil {
			return nil, nil, fmt.Errorf("ot: base OT %d: %w", i, err)
		}
		out = append(out, enc...)
	}
	return o, out, nil
}

// Accept takes the offerer's answer and returns the last setup message:
// each base OT's two seeds, each encrypted so that the offerer can open only
// the one it chose. The chooser can extend from now on.
func (c *Chooser) Accept(msg []byte) ([]byte, error) {
	if c.base == nil {
		return nil, fmt.Errorf("%w: the setup is already done", ErrState)
	}
	if len(msg) != Kappa*elementSize {
		return nil, fmt.Errorf("%w: base-OT answer of %d bytes, want %d", ErrMessage, len(msg), Kappa*elementSize)
	}
	// Every element is checked before any base OT answers: a base-OT
	// sender answers once, so a message found bad halfway would leave the
	// chooser unable to take a good one.
	bs := make([]group.Element, Kappa)
	for i := range bs {
		bs[i] = baseGroup.NewElement()
		if err := bs[i].UnmarshalBinary(msg[i*elementSize : (i+1)*elementSize]); err != nil {
			return nil, fmt.Errorf("%w: base OT %d: %v", ErrMessage, i, err)
		}
	}
	out := make([]byte, 0, Kappa*2*sealedSize)
	for i, b := range bs {
		e0, e1 := c.base[i].Round2Sender(b)
		if len(e0) != sealedSize || len(e1) != sealedSize {
			return nil, fmt.Errorf("ot: base OT %d: sealed seeds of %d and %d bytes", i, len(e0), len(e1))
		}
		out = append(append(out, e0...), e1...)
	}
	c.base = nil
	return out, nil
}

// Finish opens the chosen seed of each base OT. The offerer can extend
// from now on.
func (o *Offerer) Finish(msg []byte) error {
	if o.base == nil {
		return fmt.Errorf("%w: the setup is already done", ErrState)
	}
	if len(msg) != Kappa*2*sealedSize {
		return fmt.Errorf("%w: sealed seeds of %d bytes, want %d", ErrMessage, len(msg), Kappa*2*sealedSize)
	}
	sbits := Bits{o.s[0], o.s[1]}
	for i := range Kappa {
		e := msg[i*2*sealedSize : (i+1)*2*sealedSize]
		c := int(sbits.Get(i))
		if err := o.base[i].Round3Receiver(e[:sealedSize], e[sealedSize:], c); err != nil {
			return fmt.Errorf("%w: base OT %d: %v", ErrMessage, i, err)
		}
		s, err := prg(o.base[i].Returnmc())
		if err != nil {
			return err
		}
		o.prg[i] = s
	}
	o.base = nil
	return nil
}

// Local runs the setup of a chooser and an offerer in one process: for
// tests and benchmarks (two parties set up over the wire, message by
// message).
func Local() (*Chooser, *Offerer, error) {
	c, m1, err := NewChooser()
	if err != nil {
		return nil, nil, err
	}
	o, m2, err := NewOfferer(m1)
	if err != nil {
		return nil, nil, err
	}
	m3, err := c.Accept(m2)
	if err != nil {
		return nil, nil, err
	}
	return c, o, o.Finish(m3)
}
