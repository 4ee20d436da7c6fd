package joint

import (
	"errors"
	"fmt"
	"math"

	"github.com/veil-fl/veil/he"
)

// ErrUnexpectedVector reports an encrypted vector from the peer that decodes
// under the session's parameters but is not what the protocol step produces:
// another layout or length, ciphertexts at another level, or a scale far
// from the parameters' (a peer that skipped a rescale, or forged one).
// Computing on it would yield garbage, or values at a scale the decryption
// headroom was not sized for, so the receiver refuses it before using it.
var ErrUnexpectedVector = errors.New("fl: unexpected encrypted vector from peer")

// AnyLen and AnyLevel leave a VectorWant field unchecked.
const (
	AnyLen   = -1
	AnyLevel = -1
)

// VectorWant is what a protocol step expects of a received vector.
type VectorWant struct {
	Layout he.Layout
	Len    int // AnyLen: any
	// Level is the level of every ciphertext; AnyLevel accepts any level,
	// as long as all ciphertexts share it.
	Level int
}

// maxScaleDrift is how far, in bits, a ciphertext's scale may be from the
// parameters' scale: rescaling divides by primes close to, not equal to,
// the scale, so honest ciphertexts drift by a fraction of a bit.
const maxScaleDrift = 1

// CheckVector checks a vector received from the peer against want; what
// names it in the error.
func CheckVector(p he.Params, v *he.Vector, what string, want VectorWant) error {
	if v == nil || len(v.Cts) == 0 {
		return fmt.Errorf("%w: %s: no ciphertexts", ErrUnexpectedVector, what)
	}
	if v.Layout != want.Layout {
		return fmt.Errorf("%w: %s in layout %s, want %s", ErrUnexpectedVector, what, v.Layout, want.Layout)
	}
	if want.Len != AnyLen && v.Len != want.Len {
		return fmt.Errorf("%w: %s of %d values, want %d", ErrUnexpectedVector, what, v.Len, want.Len)
	}
	level := want.Level
	logScale := math.Log2(p.Scale().Float64())
	for i, ct := range v.Cts {
		if level == AnyLevel {
			level = ct.Level()
		}
		if ct.Level() != level {
			return fmt.Errorf("%w: %s: ciphertext %d at level %d, want %d", ErrUnexpectedVector, what, i, ct.Level(), level)
		}
		if s := math.Log2(ct.Scale.Float64()); !(math.Abs(s-logScale) <= maxScaleDrift) {
			return fmt.Errorf("%w: %s: ciphertext %d at scale 2^%.1f, want about 2^%.0f", ErrUnexpectedVector, what, i, s, logScale)
		}
	}
	return nil
}
