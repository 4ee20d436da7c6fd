package fl

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrParts is returned by SplitParts for a payload that is not the expected
// sequence of parts.
var ErrParts = errors.New("fl: malformed multi-part payload")

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
