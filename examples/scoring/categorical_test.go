package main

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
)

// relabel returns a copy of t whose categorical column name holds, on
// every fourth row, a label no training row had, with the dictionary
// rebuilt in byte order as a reader of the new export would build it; it
// also returns those rows' ids.
func relabel(t *testing.T, tab *dataset.Table, name, label string) (*dataset.Table, map[string]bool) {
	t.Helper()
	j, ok := tab.ColumnIndex(name)
	require.True(t, ok, name)
	rows := make([]int, tab.Rows())
	for i := range rows {
		rows[i] = i
	}
	out := tab.Select(rows)
	old := out.Categories[j]
	dict := append(slices.Clone(old), label)
	slices.Sort(dict)
	d := out.Cols()
	unseen := map[string]bool{}
	for i := range out.Rows() {
		v := &out.X[i*d+j]
		switch {
		case i%4 == 0:
			*v = float64(slices.Index(dict, label))
			unseen[out.IDs[i]] = true
		case !math.IsNaN(*v):
			*v = float64(slices.Index(dict, old[int(*v)]))
		}
	}
	out.Categories[j] = dict
	return out, unseen
}

// An LR model trained on text categories scores, through the center's
// encrypted service, tables whose dictionaries differ from the training
// tables' and hold labels unseen in training: each decrypted logit is the
// sum of the halves' partial scores of the labels, and an unseen label
// scores as a missing cell.
func TestScoringCategorical(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole LR job and a scoring session in -short mode (the race pass)")
	}
	f, err := parseFlags([]string{"-rows", "1500", "-epochs", "3", "-text-columns"}, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bank, center, err := loadData(f)
	require.NoError(t, err)
	require.NotEmpty(t, bank.Categorical())
	m, err := train(ctx, f, bank, center, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, m.lrBank.Categories.Any())
	require.True(t, m.lrCenter.Categories.Any())
	// The halves are the job's: both record the same training.
	require.NotEmpty(t, m.lrBank.Training)
	require.Equal(t, m.lrBank.Training, m.lrCenter.Training)

	nb, unseenB := relabel(t, bank, "loan_product", "green energy loan")
	nc, unseenC := relabel(t, center, "legal_form", "foreign-invested enterprise")
	m.bankTable, m.centerTable = nb, nc
	res, _, err := scoreAll(ctx, m, score.Options{Output: score.Scores})
	require.NoError(t, err)
	require.Greater(t, len(res.IDs), 1000)

	// The plaintext reference: each half on its own table, by label.
	scores := func(tab *dataset.Table, half func() ([]float64, error)) map[string]float64 {
		u, err := half()
		require.NoError(t, err)
		out := map[string]float64{}
		for i, id := range tab.IDs {
			out[id] = u[i]
		}
		return out
	}
	ub := scores(nb, func() ([]float64, error) { return halfScores(m.lrBank, nb, "") })
	uc := scores(nc, func() ([]float64, error) { return halfScores(m.lrCenter, nc, "") })
	// An unseen label scores as the same row with the cell missing.
	ubMissing := scores(nb, func() ([]float64, error) { return halfScores(m.lrBank, nb, "loan_product") })
	ucMissing := scores(nc, func() ([]float64, error) { return halfScores(m.lrCenter, nc, "legal_form") })
	checked := 0
	for i, id := range res.IDs {
		require.InDelta(t, ub[id]+uc[id], res.Logits[i], 1e-5, "enterprise %s", id)
		if unseenB[id] {
			require.Equal(t, ubMissing[id], ub[id], "enterprise %s", id)
			checked++
		}
		if unseenC[id] {
			require.Equal(t, ucMissing[id], uc[id], "enterprise %s", id)
			checked++
		}
	}
	require.Greater(t, checked, 400)
}

// halfScores is h's partial score of each row of tab (whose columns are
// h's features), by label; the column named missing, if any, is left
// missing in every row.
func halfScores(h *model.LRHalf, tab *dataset.Table, missing string) ([]float64, error) {
	enc, err := encodeWith(tab, func(c [][]string, x []float64, _ int) ([]float64, error) { return h.Encode(c, x) })
	if err != nil {
		return nil, err
	}
	if j, ok := enc.ColumnIndex(missing); ok {
		enc.X = slices.Clone(enc.X)
		for i := range enc.Rows() {
			enc.X[i*enc.Cols()+j] = math.NaN()
		}
	}
	u := make([]float64, enc.Rows())
	return u, h.PartialScore(enc.X, u)
}

// The trees path: SecureBoost trained on text categories scores, through
// the encrypted service, tables with dictionaries of their own and unseen
// labels exactly as federated prediction of the same encoded rows does.
func TestScoringCategoricalTrees(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole SecureBoost job and a scoring session in -short mode (the race pass)")
	}
	f, err := parseFlags([]string{"-model", "sbt", "-rows", "1500", "-trees", "3"}, nil)
	require.NoError(t, err)
	require.True(t, f.textColumns, "text columns by default")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bank, center, err := loadData(f)
	require.NoError(t, err)
	m, err := train(ctx, f, bank, center, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, m.treesBank.Categories.Any())
	require.True(t, m.treesCenter.Categories.Any())
	require.NotEmpty(t, m.treesBank.Training)
	require.Equal(t, m.treesBank.Training, m.treesCenter.Training)

	nb, _ := relabel(t, bank, "account_type", "escrow account")
	nc, _ := relabel(t, center, "district", "Changxing Island")
	m.bankTable, m.centerTable = nb, nc
	res, _, err := scoreAll(ctx, m, score.Options{Output: score.Scores})
	require.NoError(t, err)

	// Federated prediction of the aligned rows, each table encoded by its
	// half.
	eb, err := encodeWith(nb, m.treesBank.Encode)
	require.NoError(t, err)
	ec, err := encodeWith(nc, m.treesCenter.Encode)
	require.NoError(t, err)
	rb, rc := dataset.Align(eb, ec)
	ab, ac := eb.Select(rb), ec.Select(rc)
	ta, tp := fl.NewPipe()
	defer ta.Close()
	defer tp.Close()
	done := make(chan error, 1)
	go func() { done <- boost.PredictPassive(ctx, tp, m.treesCenter, ac.X, ac.Cols()) }()
	logits, err := boost.PredictActiveLogits(ctx, ta, m.treesBank, ab.X, ab.Cols())
	require.NoError(t, err)
	require.NoError(t, <-done)
	want := map[string]float64{}
	for i, id := range ab.IDs {
		want[id] = logits[i]
	}
	require.Len(t, res.IDs, len(want))
	for i, id := range res.IDs {
		require.InDelta(t, want[id], res.Logits[i], 1e-5, "enterprise %s", id)
	}
}
