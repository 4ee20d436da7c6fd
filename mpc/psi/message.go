package psi

import (
	"encoding/binary"
	"fmt"
)

// PointSize is the size in bytes of one encoded ristretto255 point.
const PointSize = 32

// HeaderSize is the size in bytes of the header that [Message.MarshalBinary]
// writes before the points.
const HeaderSize = 16

const (
	wireMagic   = "VPSI"
	wireVersion = 1
	// maxPoints keeps HeaderSize+PointSize*n and the row indices in range.
	maxPoints = 1<<31 - 1
)

// Kind says which protocol step produced a [Message].
type Kind uint8

const (
	// Blinded messages carry H(x)^k for the sender's ids, in the sender's
	// secret order. [Party.Blind] makes them and [Party.Exchange] takes them.
	Blinded Kind = 1
	// Reblinded messages carry the receiver's blinded points raised to the
	// sender's key, in the order received. [Party.Exchange] makes them and
	// [Party.Finish] takes them.
	Reblinded Kind = 2
)

func (k Kind) String() string {
	switch k {
	case Blinded:
		return "blinded"
	case Reblinded:
		return "reblinded"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Message is one protocol message: a list of encoded ristretto255 points.
//
// The binary encoding is a 16-byte header (the bytes "VPSI", version 1, the
// kind, two zero bytes, and the number of points as a big-endian uint64)
// followed by 32 bytes per point.
type Message struct {
	kind   Kind
	points []byte // Len() encoded points, PointSize bytes each
}

// Kind returns the protocol step the message belongs to.
func (m *Message) Kind() Kind { return m.kind }

// Len returns the number of points in the message: the number of ids of the
// party that blinded them.
func (m *Message) Len() int { return len(m.points) / PointSize }

// MarshalBinary encodes m. The result is HeaderSize + PointSize*m.Len() bytes.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, HeaderSize+len(m.points)))
}

// AppendBinary appends the encoding of m to b.
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	if m.kind != Blinded && m.kind != Reblinded || len(m.points) == 0 {
		return b, fmt.Errorf("psi: cannot marshal a Message that no protocol step produced")
	}
	b = append(b, wireMagic...)
	b = append(b, wireVersion, byte(m.kind), 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Len()))
	return append(b, m.points...), nil
}

// UnmarshalBinary decodes a message made by [Message.MarshalBinary], checking
// its header and length. It does not check that the points are valid
// ristretto255 encodings: [Party.Exchange] and [Party.Finish] do that, as they
// decode them anyway. Every error wraps [ErrMalformedMessage].
func (m *Message) UnmarshalBinary(data []byte) error {
	if len(data) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(data), HeaderSize)
	}
	if string(data[:4]) != wireMagic {
		return fmt.Errorf("%w: bad magic %q, want %q", ErrMalformedMessage, data[:4], wireMagic)
	}
	if data[4] != wireVersion {
		return fmt.Errorf("%w: version %d, this package speaks version %d", ErrMalformedMessage, data[4], wireVersion)
	}
	kind := Kind(data[5])
	if kind != Blinded && kind != Reblinded {
		return fmt.Errorf("%w: unknown kind %d", ErrMalformedMessage, data[5])
	}
	if data[6] != 0 || data[7] != 0 {
		return fmt.Errorf("%w: reserved header bytes are not zero", ErrMalformedMessage)
	}
	n := binary.BigEndian.Uint64(data[8:HeaderSize])
	if n == 0 {
		return fmt.Errorf("%w: no points", ErrMalformedMessage)
	}
	if n > maxPoints {
		return fmt.Errorf("%w: %d points, more than the limit of %d", ErrMalformedMessage, n, maxPoints)
	}
	if uint64(len(data)-HeaderSize) != n*PointSize {
		return fmt.Errorf("%w: header announces %d points (%d bytes) but the message has %d bytes",
			ErrMalformedMessage, n, HeaderSize+n*PointSize, len(data))
	}
	m.kind = kind
	m.points = append([]byte(nil), data[HeaderSize:]...)
	return nil
}

// point returns the i-th encoded point.
func (m *Message) point(i int) []byte {
	return m.points[i*PointSize : (i+1)*PointSize : (i+1)*PointSize]
}
