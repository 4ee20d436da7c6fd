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

// AnyLen and AnyLevel leave a VectorWant (or Disclosure) field unchecked.
const (
	AnyLen   = -1
	AnyLevel = -1
)

// VectorWant is what a protocol step expects of a received vector.
type VectorWant struct {
	Layout he.Layout
	Len    int // AnyLen: any (up to MaxLen)
	// MaxLen, with Len AnyLen, is the most values the vector may hold; 0
	// sets no maximum.
	MaxLen int
	// Level is the level of every ciphertext; AnyLevel accepts any level,
	// as long as all ciphertexts share it.
	Level int
	// LogScale is log2 of the scale of every ciphertext, within
	// ScaleTolerance bits; 0 accepts the parameters' scale within a bit.
	LogScale float64
}

// maxScaleDrift is how far, in bits, a ciphertext's scale may be from the
// parameters' scale when the step does not declare its own: rescaling
// divides by primes close to, not equal to, the scale, so honest ciphertexts
// drift by a fraction of a bit.
const maxScaleDrift = 1

// ScaleTolerance is how far, in bits, a ciphertext's scale may be from the
// scale its step declares (VectorWant.LogScale, Disclosure.LogScale). The
// steps that declare a scale produce it exactly, so the tolerance only
// absorbs rounding; a peer's vector off by more would have its values (and
// their noise) take a share of the decryption headroom the flooding was
// not sized for, or be decoded at a precision other than the stated one.
const ScaleTolerance = 1.0 / 64

// mismatch is the first way a vector differs from a VectorWant.
type mismatch struct {
	field     string // "ciphertexts", "layout", "length", "level" or "scale"
	ct        int    // the ciphertext, for level and scale
	got, want string
}

// check returns how v differs from w under the parameters p, or nil.
func (w VectorWant) check(p he.Params, v *he.Vector) *mismatch {
	if v == nil || len(v.Cts) == 0 {
		return &mismatch{field: "ciphertexts", got: "none", want: "at least one"}
	}
	if v.Layout != w.Layout {
		return &mismatch{field: "layout", got: v.Layout.String(), want: w.Layout.String()}
	}
	if m := w.checkLen(v.Len); m != nil {
		return m
	}
	level := w.Level
	for i, ct := range v.Cts {
		if level == AnyLevel {
			level = ct.Level()
		}
		if ct.Level() != level {
			return &mismatch{field: "level", ct: i, got: fmt.Sprint(ct.Level()), want: fmt.Sprint(level)}
		}
		if m := w.checkScale(p, ct.Scale.Float64()); m != nil {
			m.ct = i
			return m
		}
	}
	return nil
}

// checkLen checks a vector's length against w's Len or MaxLen.
func (w VectorWant) checkLen(n int) *mismatch {
	switch {
	case w.Len != AnyLen && n != w.Len:
		return &mismatch{field: "length", got: fmt.Sprint(n), want: fmt.Sprint(w.Len)}
	case w.Len == AnyLen && w.MaxLen > 0 && n > w.MaxLen:
		return &mismatch{field: "length", got: fmt.Sprint(n), want: fmt.Sprintf("at most %d", w.MaxLen)}
	case n < 0:
		return &mismatch{field: "length", got: fmt.Sprint(n), want: "not negative"}
	}
	return nil
}

// checkScale checks a scale against w's LogScale, or against the
// parameters' scale when w declares none.
func (w VectorWant) checkScale(p he.Params, scale float64) *mismatch {
	want, tol := w.LogScale, ScaleTolerance
	if want == 0 {
		want, tol = math.Log2(p.Scale().Float64()), maxScaleDrift
	}
	if s := math.Log2(scale); !(math.Abs(s-want) <= tol) { // NaN fails too
		return &mismatch{field: "scale", got: fmt.Sprintf("2^%.3f", s), want: fmt.Sprintf("2^%.3f", want)}
	}
	return nil
}

// CheckVector checks a vector received from the peer against want; what
// names it in the error.
func CheckVector(p he.Params, v *he.Vector, what string, want VectorWant) error {
	m := want.check(p, v)
	if m == nil {
		return nil
	}
	switch m.field {
	case "ciphertexts":
		return fmt.Errorf("%w: %s: no ciphertexts", ErrUnexpectedVector, what)
	case "layout":
		return fmt.Errorf("%w: %s in layout %s, want %s", ErrUnexpectedVector, what, m.got, m.want)
	case "length":
		return fmt.Errorf("%w: %s of %s values, want %s", ErrUnexpectedVector, what, m.got, m.want)
	}
	return fmt.Errorf("%w: %s: ciphertext %d at %s %s, want %s", ErrUnexpectedVector, what, m.ct, m.field, m.got, m.want)
}
