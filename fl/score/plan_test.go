package score

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
)

// TestUndeclaredScoresRefused: a bank that sends scores of the right
// length at a level the plan does not declare (one where neither the noise
// nor the flooding was sized) passes the center's check of the batch's
// shape and is refused by the center's plan (a *joint.UndeclaredError for
// the level) before any share is made: the bank learns of it by an abort,
// the center answers nothing, and its partial scores and key share are
// untouched.
//
// Scores of another layout or length are refused by the center's shape
// check first (TestHostileMessages), and the center answers one vector
// per batch, so no count runs over: fl/joint's TestProtocolPlansRefuse
// shows the plan refuses them too.
func TestUndeclaredScoresRefused(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(2, 3))
	const n = 1000
	ub, uc := normals(r, n, 1), normals(r, n, 1)
	ub0, uc0 := slices.Clone(ub), slices.Clone(uc)
	high, err := bank.EncryptAt(make([]float64, n), he.Linear14.DecryptLevel+1)
	require.NoError(t, err)
	payload, err := bank.Params().MarshalVector(high)
	require.NoError(t, err)
	var asked, answered atomic.Int32
	tamper := fltest.Tamper(func(m fl.Message) fl.Message {
		switch m.Type {
		case TypeScores:
			m.Payload = payload
			asked.Add(1)
		case TypeOut:
			answered.Add(1)
		}
		return m
	})
	be, ce, _ := run([]fltest.Fault{tamper},
		func(ctx context.Context, tr fl.Transport) error {
			_, err := LinearActive(ctx, tr, bank, ub, Options{})
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, Options{}) })
	require.Equal(t, int32(1), asked.Load())
	var ue *joint.UndeclaredError
	require.ErrorAs(t, ce, &ue, "refused by the plan: %v", ce)
	require.ErrorIs(t, ce, joint.ErrUndeclared)
	require.Equal(t, StepScores, ue.Step)
	require.Equal(t, "level", ue.Field, "%v", ce)
	require.ErrorIs(t, be, fl.ErrPeerAborted)
	require.Zero(t, answered.Load(), "the center answers nothing")
	require.Equal(t, ub0, ub)
	require.Equal(t, uc0, uc)

	// The key shares still open, together, what the pair encrypts.
	want := []float64{1.5, -2.25, 3}
	for _, pair := range [][2]*he.Party{{center, bank}, {bank, center}} {
		helper, receiver := pair[0], pair[1]
		v, err := receiver.Encrypt(want)
		require.NoError(t, err)
		receiver.DropToDecryptLevel(v)
		share, err := helper.DecryptShare(v)
		require.NoError(t, err)
		got, err := receiver.Decrypt(v, share)
		require.NoError(t, err)
		require.InDeltaSlice(t, want, got[:len(want)], 1e-4) // the flooding: a changed share gives garbage
	}
}
