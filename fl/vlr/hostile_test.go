package vlr

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
)

type hostileStep struct {
	typ    string
	victim string
	vector bool
}

// hostileSteps lists every message either party receives during training,
// for each protocol, with the party that receives it first ("" for the
// symmetric exchanges) and whether it carries an encoded vector or shares.
var hostileSteps = map[bool][]hostileStep{
	false: { // secret-shared weights
		{TypeSetup, "center", false},
		{TypeSetupAck, "bank", false},
		{fl.TypeResume, "", false},
		{joint.TypeKeyGen1, "", false},
		{joint.TypeKeyGen2, "", false},
		{TypeWeights, "", true},
		{TypePartial, "center", true},
		{TypeOpenScores, "bank", true},
		{TypeResidual, "center", true},
		{TypeOpenGradient, "", true},
		{joint.TypeDecryptSum, "center", true},
		{joint.TypeSumShare, "bank", false},
		{TypeEpoch, "center", false},
		{TypeFinal, "", true},
	},
	true: { // RevealGradients
		{TypeSetup, "center", false},
		{TypeSetupAck, "bank", false},
		{fl.TypeResume, "", false},
		{joint.TypeKeyGen1, "", false},
		{joint.TypeKeyGen2, "", false},
		{TypePowers, "bank", true},
		{TypeResidual, "center", true},
		{joint.TypeDecrypt, "bank", true},
		{joint.TypeShare, "center", false},
		{TypeEpoch, "center", false},
	},
}

// isClear reports whether err is one of the documented, matchable errors a
// party returns on bad input from its peer.
func isClear(err error) bool {
	for _, target := range []error{fl.ErrMalformed, he.ErrMalformed, he.ErrLayout, he.ErrShares, joint.ErrUnexpectedVector, joint.ErrUndeclared, fl.ErrPeerAborted, fl.ErrParts, ErrOptions} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// shortHostile are the cases that run with -short (under the race
// detector): one per kind of decoder, since each case generates keys.
var shortHostile = []string{"vlr.setup/garbage", "reveal/vlr.powers/wrong scale", "vlr.weights/wrong scale", "vlr.open-scores/wrong level",
	"vlr.open-gradient/truncated", "vlr.final/wrong length", "reveal/he.decrypt/wrong length", "vlr.epoch/truncated"}

// TestHostilePeer corrupts, one at a time, the first message of each type
// the protocol receives, in each way fltest.Mutations knows, and requires a
// clear error on the receiving side, an abort on the other (nobody waits
// for the deadline), no panic, and both parties' data untouched. A
// corruption the receiver cannot see (a vector asked to decrypt with a
// shorter length only shortens the helper's share) must leave the training
// correct.
func TestHostilePeer(t *testing.T) {
	const n, db, dc = 64, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	for _, reveal := range []bool{false, true} {
		opt := Options{Epochs: 1, TrackLoss: true, RevealGradients: reveal}
		params, prefix := he.Shared15.ID, ""
		if reveal {
			params, prefix = he.Linear14.ID, "reveal/"
		}
		for _, step := range hostileSteps[reveal] {
			for _, m := range fltest.Mutations {
				if fltest.VectorMutation(m.Name) != step.vector && fltest.VectorMutation(m.Name) {
					continue
				}
				if !step.vector && m.Name != "garbage" && m.Name != "truncated" {
					continue
				}
				name := prefix + step.typ + "/" + m.Name
				if testing.Short() && !slices.Contains(shortHostile, name) {
					continue
				}
				t.Run(name, func(t *testing.T) {
					// Each case is a training of its own, mostly one party
					// waiting on the other: two at a time keep both cores busy.
					t.Parallel()
					tamper, hit := fltest.TamperOnce(step.typ, params, m)
					ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
					defer ta.Close()
					defer tc.Close()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					var bank, center error
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, center = TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
					}()
					_, bank = TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
					wg.Wait()
					require.True(t, hit.Load(), "the step was reached")
					require.NoError(t, ctx.Err(), "no party waited for the deadline")
					require.Equal(t, xb0, xb)
					require.Equal(t, xc0, xc)
					require.Equal(t, y0, y)
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
						if step.typ == joint.TypeDecrypt && (m.Name == "wrong length" || m.Name == "wrong scale") {
							// A well-formed vector the plan does not declare.
							require.ErrorIs(t, victim, joint.ErrUndeclared)
						}
						// The sender learns of it by an abort, unless the corrupted
						// message was its last (the bank's final epoch message).
						if other != nil || step.typ != TypeEpoch {
							require.ErrorIs(t, other, fl.ErrPeerAborted)
						}
					} else if step.typ == TypeFinal {
						// The last exchange: the party whose copy arrived
						// intact may already have finished with its weights.
						require.True(t, (bank == nil || isClear(bank)) && (center == nil || isClear(center)), "bank: %v; center: %v", bank, center)
					} else {
						require.True(t, isClear(bank) && isClear(center), "bank: %v; center: %v", bank, center)
					}
					t.Logf("OUTCOME %s | %s | %v", name, m.Name, victim)
				})
			}
		}
	}
}
