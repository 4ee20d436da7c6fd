package joint

import (
	"context"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
)

// An Admission is one vector a plan admitted (Plan.Admit, AdmitShares):
// about to be decrypted or opened to the plan holder's peer. It holds the
// step's declaration and the vector's shape, never a value.
type Admission struct {
	// Holder is the party that admitted the vector, To the party that
	// learns it (the holder's peer).
	Holder, To fl.Role
	// Step, What and Masked are the step's declaration.
	Step   string
	What   string
	Masked bool
	// Layout and Len are the vector's: Len values; Ciphertexts is how many
	// ciphertexts (or shares) carry them.
	Layout      he.Layout
	Len         int
	Ciphertexts int
	// FixedLen: the step declares one length for all its vectors (not
	// AnyLen).
	FixedLen bool
	// Sum: only the sum of the vector's values is revealed
	// (HelpDecryptSum); Len is then 1.
	Sum bool
	// Undecrypted: not a vector but a step that reveals Len values
	// without a decryption (a secure comparison's outputs), reported once
	// when the plan is taken up (Plan.HeldBy) with its declared values.
	Undecrypted bool
}

// observerKey is the context key of the observer (WithObserver).
type observerKey struct{}

// WithObserver returns a copy of ctx carrying fn, the observer of a
// session: every plan taken up with that context, or one derived from it
// (Plan.HeldBy), calls fn with each vector it admits, and with each step
// it reveals without a decryption when it is taken up. fn runs
// synchronously inside Admit, after the vector passed the plan's checks
// and before it is counted, decrypted or opened, so what it records (an
// fsync'd audit record) is on disk before the value leaves the party; an
// error of fn refuses the vector (Admit returns it, wrapped, and the
// protocol aborts the session). fn must not call back into the plan.
//
// The observer travels with the plan, not with a goroutine: a protocol
// may admit from any goroutine. One plan's calls come one at a time; the
// plans of one session may call fn concurrently, so fn must be safe for
// concurrent use. A nil fn hides an observer ctx carries. The innermost
// WithObserver wins, as with any context value.
func WithObserver(ctx context.Context, fn func(Admission) error) context.Context {
	return context.WithValue(ctx, observerKey{}, fn)
}

// ObserverFrom returns the observer ctx carries (WithObserver), or nil.
func ObserverFrom(ctx context.Context) func(Admission) error {
	if ctx == nil {
		return nil
	}
	fn, _ := ctx.Value(observerKey{}).(func(Admission) error)
	return fn
}
