package fl

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// ErrParts is returned by SplitParts for a payload that is not the expected
// sequence of parts. It wraps ErrProtocol: parts come from the peer.
var ErrParts = protocolSentinel("fl: malformed multi-part payload")

// JoinParts packs byte strings into one payload, each behind its length:
// for messages that carry several encoded vectors or shares.
func JoinParts(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += 8 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// SplitParts undoes JoinParts and checks that there are exactly want parts.
// The parts alias b.
func SplitParts(b []byte, want int) ([][]byte, error) {
	parts := make([][]byte, 0, min(want, len(b)/8))
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: %d stray bytes after part %d", ErrParts, len(b), len(parts))
		}
		n := binary.LittleEndian.Uint64(b)
		if n > uint64(len(b)-8) {
			return nil, fmt.Errorf("%w: part %d announces %d bytes, %d left", ErrParts, len(parts), n, len(b)-8)
		}
		if len(parts) == want {
			return nil, fmt.Errorf("%w: more than %d parts", ErrParts, want)
		}
		parts = append(parts, b[8:8+n])
		b = b[8+n:]
	}
	if len(parts) != want {
		return nil, fmt.Errorf("%w: %d parts, want %d", ErrParts, len(parts), want)
	}
	return parts, nil
}

// AppendFloats appends v to dst as a float64 payload, the one layout every
// protocol uses for values sent in the clear (partial scores, points) and
// for hashing values into a digest: each value's IEEE 754 bits, 8 bytes
// little-endian. ParseFloats reads it back.
func AppendFloats(dst []byte, v []float64) []byte {
	dst = slices.Grow(dst, 8*len(v))
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	}
	return dst
}

// ParseFloats reads a float64 payload of exactly n values, as AppendFloats
// writes it, from the peer. A payload of another length, or one holding a
// value that is not finite, is an error wrapping ErrMalformed (and so
// ErrProtocol) that names it: the protocols send only finite values, and a
// NaN or an infinity would pass unseen into every sum it entered.
func ParseFloats(b []byte, n int) ([]float64, error) {
	if n < 0 || len(b)%8 != 0 || len(b)/8 != n {
		return nil, fmt.Errorf("%w: float64 payload of %d bytes, want %d values", ErrMalformed, len(b), n)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		if math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
			return nil, fmt.Errorf("%w: float64 payload: value %d is %v", ErrMalformed, i, v[i])
		}
	}
	return v, nil
}
