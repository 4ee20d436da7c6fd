package job_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// withUnseen returns a copy of t whose categorical column name holds a
// label of its own, which no training row has, on every fifth row, its
// dictionary rebuilt in byte order as a reader would build it.
func withUnseen(t *testing.T, tab *dataset.Table, name, label string) (*dataset.Table, []int) {
	t.Helper()
	j, ok := tab.ColumnIndex(name)
	require.True(t, ok, name)
	out := tab.Select(slices.Collect(func(yield func(int) bool) {
		for i := range tab.Rows() {
			if !yield(i) {
				return
			}
		}
	}))
	old := out.Categories[j]
	dict := append(slices.Clone(old), label)
	slices.Sort(dict)
	d := out.Cols()
	var rows []int
	for i := range out.Rows() {
		v := &out.X[i*d+j]
		switch {
		case i%5 == 0:
			*v = float64(slices.Index(dict, label))
			rows = append(rows, i)
		case !math.IsNaN(*v):
			*v = float64(slices.Index(dict, old[int(*v)]))
		}
	}
	out.Categories[j] = dict
	return out, rows
}

// Text categories on both sides (synthetic Categorical): LR one-hot encodes
// each party's categorical columns and the WOE scorecard bins them by
// level; both match their plaintext twins, the halves keep the encoding,
// and encrypted scoring with the LR halves reads new tables with
// dictionaries of their own, labels unseen in training scoring as missing.
func TestJobCategorical(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole two-party job in -short mode (the race pass); TestJobMatchesTwins runs one")
	}
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 11, Categorical: true})
	require.NoError(t, err)
	require.NotEmpty(t, bankT.Categorical())
	require.NotEmpty(t, centerT.Categorical())
	var logs bytes.Buffer
	bank := job.Spec{Train: bankT, Models: []job.Kind{job.LR, job.WOE}, LR: vlr.Options{Epochs: 4},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	center := job.Spec{Train: centerT}
	rb, rc, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)
	require.Contains(t, logs.String(), `msg="categorical column" table=bank column=loan_product labels=`)
	require.Contains(t, logs.String(), "categorical column encoded on the training rows")

	// Each party encodes its own categorical columns; LR sees one column
	// per level.
	for _, r := range []*job.Result{rb, rc} {
		require.True(t, r.Data.Categories.Any())
		require.Equal(t, r.Data.Categories.OneHotWidth(r.Data.Cols), r.Data.XCols)
		require.Greater(t, r.Data.XCols, r.Data.Cols)
	}
	require.Contains(t, rc.Data.XColumns, "legal_form=sole proprietorship")
	for _, k := range []job.Kind{job.LR, job.WOE} {
		mb := rb.Model(k)
		tw, err := job.PlainTwin(k, rb, rc, bank)
		require.NoError(t, err)
		require.InDelta(t, tw.AUC, mb.AUC, 0.002, k)
		for i := range tw.Scores {
			require.InDelta(t, tw.Scores[i], mb.TestScores[i], 1e-4, "%s test row %d", k, i)
		}
		t.Logf("%s: federated AUC %.4f, twin %.4f", k, mb.AUC, tw.AUC)
	}
	// The scorecard bins the categorical columns by level, on both sides.
	levelled := 0
	for _, r := range []*job.Result{rb, rc} {
		for _, f := range r.Model(job.WOE).Scorecard.Features {
			if f.Levels != nil {
				levelled++
				require.Len(t, f.LevelBins, f.Levels.NumLevels(), f.Name)
			}
		}
	}
	require.Positive(t, levelled)
	for _, c := range rb.Model(job.WOE).Columns {
		if c.Name == "district" {
			require.NotEmpty(t, c.Labels, "the center shows its names to the bank in a job")
		}
	}

	// Encrypted scoring with the LR halves on new tables: other
	// enterprises, a label unseen in training on both sides.
	hb, hc := rb.Model(job.LR).LRHalf, rc.Model(job.LR).LRHalf
	require.NotNil(t, hb.Categories)
	require.NotNil(t, hc.Categories)
	nb, nc, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 12, Categorical: true})
	require.NoError(t, err)
	rowsB, rowsC := dataset.Align(nb, nc)
	nb, nc = nb.Select(rowsB), nc.Select(rowsC)
	nb, unseenB := withUnseen(t, nb, "account_type", "escrow")
	nc, unseenC := withUnseen(t, nc, "district", "Changxing Island")
	ub, xb := partialScores(t, hb, nb)
	uc, xc := partialScores(t, hc, nc)
	// An unseen label scores as a missing cell.
	for _, c := range []struct {
		h    *model.LRHalf
		x    []float64
		u    []float64
		rows []int
		col  string
	}{{hb, xb, ub, unseenB, "account_type"}, {hc, xc, uc, unseenC, "district"}} {
		j := slices.Index(c.h.Features, c.col)
		d := len(c.h.Features)
		for _, i := range c.rows[:5] {
			require.True(t, math.IsNaN(c.x[i*d+j]))
			row := slices.Clone(c.x[i*d : (i+1)*d])
			row[j] = math.NaN()
			one := make([]float64, 1)
			require.NoError(t, c.h.PartialScore(row, one))
			require.Equal(t, one[0], c.u[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
	defer cancel()
	ta, tp := fl.NewPipe()
	defer ta.Close()
	defer tp.Close()
	seed := []byte("job-categorical-scoring-seed-012")
	done := make(chan error, 1)
	go func() {
		p, err := score.Keys(ctx, tp, seed)
		if err == nil {
			err = score.LinearPassive(ctx, tp, p, uc, score.Options{Output: score.Scores})
		}
		done <- err
	}()
	p, err := score.Keys(ctx, ta, seed)
	require.NoError(t, err)
	res, err := score.LinearActive(ctx, ta, p, ub, score.Options{Output: score.Scores})
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Len(t, res.Logits, len(ub))
	for i := range ub {
		require.InDelta(t, ub[i]+uc[i], res.Logits[i], 1e-5, "record %d", i)
	}
}

// partialScores encodes t's columns for h (by name, each table's own
// dictionary) and returns h's partial scores and the encoded rows.
func partialScores(t *testing.T, h *model.LRHalf, tab *dataset.Table) ([]float64, []float64) {
	t.Helper()
	d, n := len(h.Features), tab.Rows()
	x, dict := make([]float64, n*d), make([][]string, d)
	for k, name := range h.Features {
		j, ok := tab.ColumnIndex(name)
		require.True(t, ok, name)
		if tab.IsCategorical(j) {
			dict[k] = tab.Categories[j]
		}
		for i := range n {
			x[i*d+k] = tab.X[i*tab.Cols()+j]
		}
	}
	enc, err := h.Encode(dict, x)
	require.NoError(t, err)
	u := make([]float64, n)
	require.NoError(t, h.PartialScore(enc, u))
	return u, enc
}

// A test table whose columns differ from the training table's stops the
// job before any key is made; the error names the columns, and the peer
// hears only the kind of fault.
func TestJobSchemaMismatch(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4, Categorical: true})
	require.NoError(t, err)
	numB, numC, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4})
	require.NoError(t, err)
	for _, c := range []struct {
		name         string
		bank, center job.Spec
		want         string // the refusing side's own error
		secret       string // a column name the peer must not hear
	}{
		{"bank", job.Spec{Train: bankT, Test: numB}, job.Spec{Train: centerT, Test: centerT}, `column "loan_product" is missing from the test table`, "loan_product"},
		{"center", job.Spec{Train: bankT, Test: bankT}, job.Spec{Train: centerT, Test: numC}, `column "industry" is categorical in the train table, numeric in the test table`, "industry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, errB, errC := runPair(t, c.bank, c.center)
			own, peer := errB, errC
			if c.name == "center" {
				own, peer = errC, errB
			}
			require.ErrorIs(t, own, dataset.ErrSchemaMismatch)
			require.ErrorIs(t, own, job.ErrSpec)
			require.ErrorContains(t, own, c.want)
			require.ErrorIs(t, peer, fl.ErrPeerAborted)
			require.ErrorContains(t, peer, "test table does not have the columns of its training table")
			require.NotContains(t, peer.Error(), c.secret)
		})
	}
}
