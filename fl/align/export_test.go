package align

import (
	"context"

	"github.com/veil-fl/veil/mpc/psi"
)

// FailCuckoo makes the KKRT receiver's ids not fit their cuckoo table (as
// psi.ErrCuckoo, which no real set shows but with probability 2^-40) until
// the returned function restores it.
func FailCuckoo() (restore func()) {
	old := kkrtCodes
	kkrtCodes = func(context.Context, *psi.KKRTReceiver, *psi.KKRTMessage) (*psi.KKRTMessage, error) {
		return nil, psi.ErrCuckoo
	}
	return func() { kkrtCodes = old }
}
