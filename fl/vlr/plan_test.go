package vlr

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/model"
)

// TestDisclosuresFollowPlan trains with each protocol and checks that each
// party revealed exactly what the disclosure plan declares, step by step
// (the final weights once), and that the messages on the wire that carry
// a disclosure are as many as the plan's vectors.
func TestDisclosuresFollowPlan(t *testing.T) {
	const n, db, dc = 500, 3, 4
	xb, xc, y := synthetic(n, db, dc, 41)
	for _, reveal := range []bool{false, true} {
		opt := Options{Epochs: 2, BatchSize: 200, TrackLoss: true, RevealGradients: reveal, Optimizer: model.OptimizerOptions{Name: "momentum"}}
		ta, tc := fl.NewPipe()
		ra, rc := fltest.Record(ta), fltest.Record(tc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		seed := []byte("vlr-test-joint-seed-0123456789abc")
		var passive *Passive
		done := make(chan error, 1)
		go func() {
			var err error
			if passive, err = NewPassive(ctx, rc, seed, Data{X: xc, Cols: dc}); err == nil {
				for !passive.Done() && err == nil {
					err = passive.Epoch(ctx)
				}
			}
			done <- err
		}()
		active, err := NewActive(ctx, ra, seed, Data{X: xb, Cols: db, Y: y}, opt)
		require.NoError(t, err)
		for !active.Done() {
			_, err := active.Epoch(ctx)
			require.NoError(t, err)
		}
		require.NoError(t, <-done)
		cancel()
		count := map[string]int{}
		for _, m := range append(ra.Sent(), rc.Sent()...) {
			count[m.Type]++
		}
		want := map[string]int{}
		for _, plan := range []*joint.Plan{active.Plan(), passive.Plan()} {
			for _, d := range plan.Disclosures() {
				used := plan.Used(d.Step)
				if d.Step == StepBankWeights || d.Step == StepCenterWeights {
					// Each party releases the peer's weights once (the
					// plan allows a few reveals after restarts).
					if (d.To == fl.RoleActive) == (plan == passive.Plan()) {
						require.Equal(t, 1, used, "%s released once", d.Step)
					}
					continue
				}
				if used > 0 {
					require.Equal(t, d.Vectors, used, "reveal %v, step %s", reveal, d.Step)
					want[d.Step] = used
				}
			}
		}
		t.Logf("reveal gradients %v: %v", reveal, want)
		if reveal {
			require.Equal(t, want[StepBankGradient]+want[StepCenterGradient]+want[StepLoss], count[joint.TypeDecrypt])
		} else {
			require.Equal(t, want[StepScores], count[TypeOpenScores])
			require.Equal(t, want[StepBankGradient]+want[StepCenterGradient], count[TypeOpenGradient])
			require.Equal(t, want[StepLoss], count[joint.TypeDecryptSum])
			require.Equal(t, 2, count[TypeFinal])
		}
		ta.Close()
		tc.Close()
	}
}
