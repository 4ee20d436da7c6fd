package ot

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Bits is a bit vector, bit i in word i/64 at position i%64.
type Bits []uint64

// NewBits returns n zero bits.
func NewBits(n int) Bits { return make(Bits, (n+63)/64) }

// RandomBits returns n bits from crypto/rand.
func RandomBits(n int) (Bits, error) {
	b := NewBits(n)
	buf := make([]byte, 8*len(b))
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("ot: randomness: %w", err)
	}
	for i := range b {
		b[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return b, nil
}

// Get returns bit i.
func (b Bits) Get(i int) uint { return uint(b[i>>6]>>(i&63)) & 1 }

// Set sets bit i to v (0 or 1).
func (b Bits) Set(i int, v uint) {
	b[i>>6] = b[i>>6]&^(1<<(i&63)) | uint64(v&1)<<(i&63)
}

// getBits returns the width bits (width <= 64) at bit position pos of ws.
func getBits(ws []uint64, pos, width int) uint64 {
	w, o := pos>>6, pos&63
	v := ws[w] >> o
	if o+width > 64 {
		v |= ws[w+1] << (64 - o)
	}
	return v & mask(width)
}

// putBits ORs the width low bits of v into ws at bit position pos.
func putBits(ws []uint64, pos, width int, v uint64) {
	v &= mask(width)
	w, o := pos>>6, pos&63
	ws[w] |= v << o
	if o+width > 64 {
		ws[w+1] |= v >> (64 - o)
	}
}

func mask(width int) uint64 {
	if width >= 64 {
		return ^uint64(0)
	}
	return 1<<width - 1
}

// wordsToBytes and bytesToWords convert little-endian.
func wordsToBytes(ws []uint64, nbytes int) []byte {
	b := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return b[:nbytes]
}

func bytesToWords(b []byte) []uint64 {
	ws := make([]uint64, (len(b)+7)/8)
	for i := range ws {
		if 8*i+8 <= len(b) {
			ws[i] = binary.LittleEndian.Uint64(b[8*i:])
			continue
		}
		var tail [8]byte
		copy(tail[:], b[8*i:])
		ws[i] = binary.LittleEndian.Uint64(tail[:])
	}
	return ws
}
