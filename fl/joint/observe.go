package joint

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"

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

// observers maps a goroutine to the observer it installed (Observe).
var observers sync.Map // uint64 -> func(Admission) error

// Observe has fn called with every admission that the plans make on the
// calling goroutine until stop is called, and returns stop. fn runs
// synchronously inside Admit, after the vector passed the plan's checks
// and before it is counted, decrypted or opened, so what it records (an
// fsync'd audit record) is on disk before the value leaves the party; an
// error of fn refuses the vector (Admit returns it, wrapped, and the
// protocol aborts the session). fn must not call back into the plan.
//
// Why the goroutine: Plan.Admit takes no context, and the protocol
// packages (fl/vlr, fl/boost, fl/woe, fl/score) admit on the goroutine that
// runs them, which is the goroutine of the caller that runs the session
// (the node's session handler, job.RunPassive and score.Service.Handle
// start none for it). A session handler calls Observe first and defers
// stop; concurrent sessions, on their own goroutines, see only their own
// admissions. An admission made on a goroutine with no observer (a
// protocol that came to admit from a goroutine of its own) reaches no
// observer: Unobserved counts them, so that a node can check none was
// missed. One observer a goroutine: a second Observe replaces the first
// until its stop. stop is idempotent.
func Observe(fn func(Admission) error) (stop func()) {
	if fn == nil {
		return func() {}
	}
	id := goid()
	prev, had := observers.Swap(id, fn)
	var once sync.Once
	return func() {
		once.Do(func() {
			if had {
				observers.Store(id, prev)
			} else {
				observers.Delete(id)
			}
		})
	}
}

var unobserved struct {
	sync.Mutex
	n int64
}

// Unobserved returns how many admissions the process's plans made on
// goroutines without an observer (Observe).
func Unobserved() int64 {
	unobserved.Lock()
	defer unobserved.Unlock()
	return unobserved.n
}

// notify reports an admission to the calling goroutine's observer and
// returns its error.
func notify(a Admission) error {
	if fn, ok := observers.Load(goid()); ok {
		return fn.(func(Admission) error)(a)
	}
	unobserved.Lock()
	unobserved.n++
	unobserved.Unlock()
	return nil
}

// goid is the calling goroutine's id, read from the first line of its
// stack trace ("goroutine 18 [running]:"), the only place the runtime
// shows it. Admissions are a few per epoch, tree level or scoring batch:
// the trace's cost (about a microsecond) does not show.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0 // never: the runtime's format; 0 is no goroutine's id
	}
	return id
}
