package job_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// The bank's scaling of the scorecard's points is the training's: a center
// whose spec scales differently still builds its half on the bank's, so
// that the federated points are the bank's scaling of the plaintext twin's
// logit, row by row (with the center on its own PDO they would be off by
// (50-20)/ln 2 times its part of the logit).
func TestScorecardScalingIsTheBanks(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole two-party job in -short mode (the race pass); TestJobMatchesTwins runs one")
	}
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 600, Seed: 8})
	require.NoError(t, err)
	bank := job.Spec{Train: bankT, Models: []job.Kind{job.WOE}, LR: vlr.Options{Epochs: 2},
		Scorecard: model.Scorecard{BasePoints: 600, PDO: 50, BaseOdds: 2}}
	center := job.Spec{Train: centerT, Scorecard: model.Scorecard{BasePoints: 400, PDO: 20}}
	rb, rc, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)
	mb := rb.Model(job.WOE)
	require.Equal(t, mb.Training, rc.Model(job.WOE).Training)
	tw, err := job.PlainTwin(job.WOE, rb, rc, bank)
	require.NoError(t, err)
	require.Len(t, mb.Points, len(tw.Points))
	require.NotEmpty(t, mb.Points)
	for i := range tw.Points {
		require.InDelta(t, tw.Points[i], mb.Points[i], 1e-4, "test row %d", i)
	}
}
