package ot

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"unsafe"
)

// A Block is 128 bits: the width of a base-OT seed, of a row of the IKNP
// matrices, and of the hash.
type Block [2]uint64

func (b Block) xor(c Block) Block { return Block{b[0] ^ c[0], b[1] ^ c[1]} }

// fixedKey keys the public permutation pi of the hash. Any fixed key will do
// (the construction models AES under a public key as a random permutation);
// this one is the first 16 bytes of SHA-256("veil ot tccr").
var fixedKey = [16]byte{0x73, 0xe6, 0x2e, 0x56, 0x5b, 0xdf, 0xc9, 0x92, 0x28, 0xc4, 0x11, 0xc7, 0x04, 0xe7, 0xbd, 0x2e}

// hasher is the tweakable circular correlation-robust hash of Guo, Katz,
// Wang and Yu ("Efficient and Secure Multiparty Computation from Fixed-Key
// Block Ciphers", IEEE S&P 2020, section 7.3): H(i, x) = pi(pi(x) ^ i) ^
// pi(x), with pi fixed-key AES. IKNP needs H(i, q) and H(i, q ^ s) to look
// independent and random for a secret s; TCCR gives that with one tweak per
// use. Callers keep pi(x) (perm) and pay one AES call per tweak (tccr).
type hasher struct{ b cipher.Block }

func newHasher() hasher {
	b, err := aes.NewCipher(fixedKey[:])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return hasher{b}
}

// permXor sets dst[i] = pi(src[i]) ^ add[i] (add nil: no XOR). Blocks are
// encrypted in place as their little-endian bytes (the hash must agree
// between machines of either byte order).
func (h hasher) permXor(dst, src, add []Block) {
	if littleEndian {
		copy(dst, src)
		for i := range dst {
			b := (*[16]byte)(unsafe.Pointer(&dst[i]))
			h.b.Encrypt(b[:], b[:])
		}
	} else {
		var buf [16]byte
		for i := range src {
			binary.LittleEndian.PutUint64(buf[:8], src[i][0])
			binary.LittleEndian.PutUint64(buf[8:], src[i][1])
			h.b.Encrypt(buf[:], buf[:])
			dst[i] = Block{binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])}
		}
	}
	if add != nil {
		for i := range dst {
			dst[i] = dst[i].xor(add[i])
		}
	}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// tccrs sets dst[i] = H(tweaks[i], x_i) given p[i] = pi(x_i); tweaks is
// overwritten.
func (h hasher) tccrs(dst, p, tweaks []Block) {
	for i := range tweaks {
		tweaks[i] = tweaks[i].xor(p[i])
	}
	h.permXor(dst, tweaks, p)
}
