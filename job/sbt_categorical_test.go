package job_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// SecureBoost with text categories on both sides splits them by sets of
// levels and matches its plaintext twin; the saved halves keep each
// party's encoding, so that federated prediction reads new tables with
// dictionaries of their own, a label unseen in training going where a
// missing value goes.
func TestJobSBTCategorical(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole two-party job in -short mode (the race pass); TestJobMatchesTwins runs one")
	}
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 11, Categorical: true})
	require.NoError(t, err)
	dir := t.TempDir()
	bank := job.Spec{Train: bankT, Models: []job.Kind{job.SBT}, Dir: dir, TreeCurve: true,
		SBT: boost.Options{GBDTOptions: model.GBDTOptions{Trees: 4, MaxDepth: 3}}}
	center := job.Spec{Train: centerT, Dir: dir}
	rb, rc, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)
	mb, mc := rb.Model(job.SBT), rc.Model(job.SBT)
	tw, err := job.PlainTwin(job.SBT, rb, rc, bank)
	require.NoError(t, err)
	require.InDelta(t, tw.AUC, mb.AUC, 1e-9)
	require.InDeltaSlice(t, tw.Scores, mb.TestScores, 1e-4)
	require.InDeltaSlice(t, tw.Curve, mb.Curve, 1e-9)
	cat := 0
	for _, s := range mc.SBTPassive.Splits {
		if s.LeftBins != nil {
			cat++
		}
	}
	require.Positive(t, cat, "the center splits on its levels")
	t.Logf("federated AUC %.4f, twin %.4f; %d of %d center splits on levels", mb.AUC, tw.AUC, cat, len(mc.SBTPassive.Splits))

	// The saved halves keep the encodings.
	load := func(name string, into func(*os.File) error) {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, into(f))
	}
	var ha *boost.ActiveModel
	var hp *boost.PassiveModel
	load("active_sbt.json", func(f *os.File) (err error) { ha, err = boost.LoadActiveModel(f); return err })
	load("passive_sbt.json", func(f *os.File) (err error) { hp, err = boost.LoadPassiveModel(f); return err })
	require.True(t, ha.Categories.Any())
	require.True(t, hp.Categories.Any())
	require.Equal(t, rb.Data.Categories, ha.Categories)

	// New enterprises whose tables name a legal form unseen in training
	// (the center) and a loan product (the bank), each on every fifth row.
	nb, nc, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 12, Categorical: true})
	require.NoError(t, err)
	rowsB, rowsC := dataset.Align(nb, nc)
	nb, nc = nb.Select(rowsB), nc.Select(rowsC)
	nb, _ = withUnseen(t, nb, "loan_product", "green loan")
	nc, unseen := withUnseen(t, nc, "legal_form", "social enterprise")
	j, _ := nc.ColumnIndex("legal_form")
	xb, err := ha.Encode(nb.Categories, nb.X, nb.Cols())
	require.NoError(t, err)
	xc, err := hp.Encode(nc.Categories, nc.X, nc.Cols())
	require.NoError(t, err)
	for _, i := range unseen {
		require.True(t, math.IsNaN(xc[i*nc.Cols()+j]), "row %d: an unseen label encodes to missing", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	ta, tp := fl.NewPipe()
	defer ta.Close()
	defer tp.Close()
	done := make(chan error, 1)
	go func() { done <- boost.PredictPassive(ctx, tp, hp, xc, nc.Cols()) }()
	got, err := boost.PredictActiveLogits(ctx, ta, ha, xb, nb.Cols())
	require.NoError(t, err)
	require.NoError(t, <-done)

	// The plaintext twin, trained on the same encoded rows, predicts the
	// same for them.
	marks := func(c *model.Categories, d int) []bool {
		m := make([]bool, d)
		for k := range m {
			m[k] = c.IsCategorical(k)
		}
		return m
	}
	b, c := rb.Data, rc.Data
	twin, err := model.TrainVerticalGBDTCategorical(b.RawTrain, b.Cols, marks(b.Categories, b.Cols), c.RawTrain, c.Cols, marks(c.Categories, c.Cols), b.YTrain, bank.SBT.GBDTOptions)
	require.NoError(t, err)
	want, err := twin.PredictLogit(model.JoinColumns(xb, b.Cols, xc, c.Cols), b.Cols+c.Cols)
	require.NoError(t, err)
	require.InDeltaSlice(t, want, got, 1e-4)
}
