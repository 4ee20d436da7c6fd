package align_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/mpc/psi"
)

// TestHostilePeer corrupts each ECDH PSI message in turn (TestKKRTHostile
// does KKRT's): the parties stop with
// a matchable error, neither waits for its deadline, and their id lists are
// untouched.
func TestHostilePeer(t *testing.T) {
	bankIDs := []string{"a", "b", "c", "d", "e"}
	centerIDs := []string{"c", "d", "e", "f"}
	for _, typ := range []string{align.TypeBlinded, align.TypeReblinded, align.TypeDigest} {
		for _, m := range fltest.Mutations {
			if fltest.VectorMutation(m.Name) {
				continue
			}
			t.Run(typ+"/"+m.Name, func(t *testing.T) {
				tamper, hit := fltest.TamperOnce(typ, "", m)
				ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
				defer ta.Close()
				defer tc.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				b0, c0 := append([]string(nil), bankIDs...), append([]string(nil), centerIDs...)
				var errB, errC error
				var wg sync.WaitGroup
				wg.Add(1)
				ecdh := align.Options{BalancedProtocol: align.ECDH}
				go func() { defer wg.Done(); _, errC = align.AlignWith(ctx, tc, centerIDs, ecdh) }()
				_, errB = align.AlignWith(ctx, ta, bankIDs, ecdh)
				wg.Wait()
				require.True(t, hit.Load())
				require.NoError(t, ctx.Err(), "no party waited for the deadline")
				require.Equal(t, b0, bankIDs)
				require.Equal(t, c0, centerIDs)
				// The digest is the exchange's last message: the party whose
				// copy arrived intact finishes, and meets the other's abort on
				// its next receive.
				require.True(t, errB != nil || errC != nil)
				for _, err := range []error{errB, errC} {
					if err == nil && typ == align.TypeDigest {
						continue
					}
					require.Error(t, err)
					require.True(t, errors.Is(err, psi.ErrMalformedMessage) || errors.Is(err, align.ErrDisagree) || errors.Is(err, fl.ErrPeerAborted) || errors.Is(err, fl.ErrMalformed), "%v", err)
					// A party either detects the breach or is told of it.
					require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
				}
				t.Logf("OUTCOME %s | %s | bank: %v | center: %v", typ, m.Name, errB, errC)
			})
		}
	}
}
