package psi

import (
	"encoding/binary"
	"fmt"

	"github.com/veil-fl/veil/mpc/ot"
)

// KKRTKind says which step of the KKRT protocol produced a [KKRTMessage].
type KKRTKind uint8

const (
	// KKRTHello (sender to receiver): the sender's set size, its half of
	// the session seed and the first base-OT message.
	KKRTHello KKRTKind = 1 + iota
	// KKRTSetup (receiver to sender): the receiver's set size, its half of
	// the seed and the base-OT answer.
	KKRTSetup
	// KKRTBase (sender to receiver): the rest of the base OTs that give the
	// sender one seed of each of the receiver's 512 pairs.
	KKRTBase
	// KKRTCodes (receiver to sender): the last base-OT message and the OPRF
	// matrix u, 64 bytes a cuckoo bin.
	KKRTCodes
	// KKRTEncoded (sender to receiver): the OPRF values of the sender's ids
	// (three an id, one per hash function) in a secret random order.
	KKRTEncoded
	// KKRTMatches (receiver to sender): the positions in KKRTEncoded of the
	// shared ids, in the common order.
	KKRTMatches
)

func (k KKRTKind) String() string {
	switch k {
	case KKRTHello:
		return "kkrt-hello"
	case KKRTSetup:
		return "kkrt-setup"
	case KKRTBase:
		return "kkrt-base"
	case KKRTCodes:
		return "kkrt-codes"
	case KKRTEncoded:
		return "kkrt-encoded"
	case KKRTMatches:
		return "kkrt-matches"
	}
	return fmt.Sprintf("KKRTKind(%d)", uint8(k))
}

const (
	kkrtMagic   = "VKKR"
	kkrtVersion = 1
	// MaxKKRTIDs bounds each party's set (its matrix is 84 bytes an id).
	MaxKKRTIDs = 1 << 25
	// maxKKRTBody bounds a message body: the largest is the matrix u of
	// MaxKKRTIDs ids (about 2.9 GB).
	maxKKRTBody = 1 << 32

	// Sizes fixed by mpc/ot for the 2*oprfWidth 1-out-of-2 OTs of 64-bit
	// halves of the base seeds: Hello and Base check them against what ot
	// returns, and every session in the tests exercises them.
	kkrtBaseOTs       = 2 * oprfWidth
	kkrtOfferBytes    = ot.Kappa * 32
	kkrtSealedBytes   = ot.Kappa * 2 * (12 + 16 + 16)
	kkrtColumnBytes   = ot.Kappa * 8 * ((kkrtBaseOTs + 63) / 64)
	kkrtDerandBytes   = kkrtBaseOTs / 8
	kkrtSeedOfferByte = kkrtBaseOTs * 2 * 64 / 8
	kkrtSeedBytes     = 16

	kkrtHelloBytes = 8 + kkrtSeedBytes + kkrtOfferBytes
	kkrtSetupBytes = kkrtHelloBytes
	kkrtBaseBytes  = kkrtSealedBytes + kkrtColumnBytes + kkrtDerandBytes
)

// A KKRTMessage is one message of the KKRT protocol. Its binary encoding
// is a 16-byte header (the bytes "VKKR", version 1, the kind, two zero
// bytes, the body's length as a big-endian uint64) and the body, flat, so a
// transport may cut it into chunks of any size.
type KKRTMessage struct {
	kind KKRTKind
	body []byte
}

// Kind returns the step the message belongs to.
func (m *KKRTMessage) Kind() KKRTKind { return m.kind }

// Size returns the length of the message's binary encoding.
func (m *KKRTMessage) Size() int { return HeaderSize + len(m.body) }

// MarshalBinary encodes m.
func (m *KKRTMessage) MarshalBinary() ([]byte, error) {
	if m.kind < KKRTHello || m.kind > KKRTMatches {
		return nil, fmt.Errorf("psi: cannot marshal a KKRTMessage that no protocol step produced")
	}
	b := make([]byte, 0, HeaderSize+len(m.body))
	b = append(b, kkrtMagic...)
	b = append(b, kkrtVersion, byte(m.kind), 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(len(m.body)))
	return append(b, m.body...), nil
}

// UnmarshalBinary decodes a message made by [KKRTMessage.MarshalBinary],
// checking the header, the length it announces and, for the kinds of fixed
// size, that size. The step that takes the message checks the rest (sizes
// that depend on the set sizes, positions). Every error wraps
// [ErrMalformedMessage].
func (m *KKRTMessage) UnmarshalBinary(data []byte) error {
	if len(data) < HeaderSize {
		return fmt.Errorf("%w: KKRT message of %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(data), HeaderSize)
	}
	if string(data[:4]) != kkrtMagic {
		return fmt.Errorf("%w: bad magic %q, want %q", ErrMalformedMessage, data[:4], kkrtMagic)
	}
	if data[4] != kkrtVersion {
		return fmt.Errorf("%w: KKRT version %d, this package speaks version %d", ErrMalformedMessage, data[4], kkrtVersion)
	}
	kind := KKRTKind(data[5])
	if kind < KKRTHello || kind > KKRTMatches {
		return fmt.Errorf("%w: unknown KKRT kind %d", ErrMalformedMessage, data[5])
	}
	if data[6] != 0 || data[7] != 0 {
		return fmt.Errorf("%w: reserved header bytes are not zero", ErrMalformedMessage)
	}
	n := binary.BigEndian.Uint64(data[8:HeaderSize])
	if n > maxKKRTBody || n != uint64(len(data)-HeaderSize) {
		return fmt.Errorf("%w: %v header announces a %d-byte body but the message has %d bytes after the header",
			ErrMalformedMessage, kind, n, len(data)-HeaderSize)
	}
	if err := checkFixedSize(kind, int(n)); err != nil {
		return err
	}
	m.kind = kind
	m.body = append([]byte(nil), data[HeaderSize:]...)
	return nil
}

func checkFixedSize(kind KKRTKind, n int) error {
	want := map[KKRTKind]int{KKRTHello: kkrtHelloBytes, KKRTSetup: kkrtSetupBytes, KKRTBase: kkrtBaseBytes}[kind]
	if want != 0 && n != want {
		return fmt.Errorf("%w: %v body of %d bytes, want %d", ErrMalformedMessage, kind, n, want)
	}
	if kind == KKRTMatches && (n < 8 || (n-8)%4 != 0) {
		return fmt.Errorf("%w: %v body of %d bytes, want 8 + 4 a match", ErrMalformedMessage, kind, n)
	}
	return nil
}

// expect checks that m is a message of the kind a step takes.
func (m *KKRTMessage) expect(step string, kind KKRTKind) error {
	if m == nil {
		return fmt.Errorf("%w: %s wants a %v message, got nil", ErrMalformedMessage, step, kind)
	}
	if m.kind != kind {
		return fmt.Errorf("%w: %s wants a %v message, got %v", ErrMalformedMessage, step, kind, m.kind)
	}
	return checkFixedSize(kind, len(m.body))
}

// readSize reads a set size announced by the peer.
func readSize(b []byte, what string) (int, error) {
	n := binary.BigEndian.Uint64(b)
	if n < 1 || n > MaxKKRTIDs {
		return 0, fmt.Errorf("%w: the peer announces %d ids (%s), want 1 .. %d", ErrMalformedMessage, n, what, MaxKKRTIDs)
	}
	return int(n), nil
}
