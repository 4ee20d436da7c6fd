package boost

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// hostileSteps lists every message either party receives during training,
// with the party that receives it first ("" for the symmetric exchanges)
// and whether it carries an encrypted vector.
var hostileSteps = []struct {
	typ    string
	victim string
	vector bool
}{
	{TypeSetup, "center", false},
	{TypeSetupAck, "bank", false},
	{fl.TypeResume, "", false},
	{fl.TypeKeyGen1, "", false},
	{fl.TypeKeyGen2, "", false},
	{TypeLevel, "center", true},
	{TypeHist, "bank", true},
	{TypeSplits, "center", false},
	{TypeLeft, "bank", false},
}

// sameBits compares bit patterns, so that NaN (a missing value) equals itself.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func isClear(err error) bool {
	for _, target := range []error{fl.ErrMalformed, he.ErrMalformed, he.ErrLayout, fl.ErrUnexpectedVector, fl.ErrPeerAborted, ErrProtocol, model.ErrOptions} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// shortHostile are the cases that run with -short (under the race
// detector): one per kind of decoder, since each case generates keys.
var shortHostile = []string{"boost.setup/garbage", "boost.level/wrong length", "boost.hist/wrong length", "boost.splits/garbage", "boost.left/garbage"}

// TestHostilePeer corrupts, one at a time, the first message of each type
// the protocol receives, in each way fltest.Mutations knows, and requires a
// clear error on the receiving side, an abort on the other, no panic, and
// both parties' data untouched.
func TestHostilePeer(t *testing.T) {
	const n, db, dc = 300, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}}
	seed := []byte("boost-test-joint-seed-0123456789a")
	for _, step := range hostileSteps {
		for _, m := range fltest.Mutations {
			if fltest.VectorMutation(m.Name) && !step.vector {
				continue
			}
			if !step.vector && m.Name != "garbage" && m.Name != "truncated" {
				continue
			}
			if testing.Short() && !slices.Contains(shortHostile, step.typ+"/"+m.Name) {
				continue
			}
			t.Run(step.typ+"/"+m.Name, func(t *testing.T) {
				tamper, hit := fltest.TamperOnce(step.typ, he.Hist13.ID, m)
				ta, tc := fl.NewPipe(fl.PipeTamper(tamper))
				defer ta.Close()
				defer tc.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				var bank, center error
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, center = TrainPassive(ctx, tc, seed, xc, dc)
				}()
				_, bank = TrainActive(ctx, ta, seed, xb, db, y, opt, nil)
				wg.Wait()
				require.True(t, hit.Load(), "the step was reached")
				require.NoError(t, ctx.Err(), "no party waited for the deadline")
				require.True(t, sameBits(xb0, xb) && sameBits(xc0, xc) && sameBits(y0, y), "the parties' data is untouched")
				if bank == nil && center == nil {
					t.Logf("OUTCOME %s | %s | training completed unaffected", step.typ, m.Name)
					return
				}
				victim, other := bank, center
				if step.victim == "center" {
					victim, other = center, bank
				}
				if step.victim != "" {
					require.Truef(t, isClear(victim), "receiver's error is matchable: %v", victim)
					require.ErrorIs(t, other, fl.ErrPeerAborted)
				} else {
					require.True(t, isClear(bank) && isClear(center), "bank: %v; center: %v", bank, center)
				}
				t.Logf("OUTCOME %s | %s | %v", step.typ, m.Name, victim)
			})
		}
	}
}
