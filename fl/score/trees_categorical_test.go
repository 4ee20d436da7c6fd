package score

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/model"
)

// TestTreesCategorical: encrypted scoring of an ensemble with categorical
// splits at both parties gives the plaintext logits, for records whose
// levels the training never saw (NaN, as model.Categories.Encode writes an
// unseen label) among them: each party decides its own splits by
// model.GoesLeft, so an unseen level takes the split's missing direction.
func TestTreesCategorical(t *testing.T) {
	bank, center := parties(t)
	const n, db, dc = 3000, 2, 2
	r := rand.New(rand.NewPCG(11, 7))
	bankRisk := []float64{0, 1.5, -1, 0.5, -0.5}
	centerRisk := []float64{-1, 2, 0, -0.5, 1, 0, -2}
	xb, xc, y := make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := 0; i < n; i++ {
		lb, lc := r.IntN(len(bankRisk)), r.IntN(len(centerRisk))
		xb[i*db], xb[i*db+1] = float64(lb), r.NormFloat64()
		xc[i*dc], xc[i*dc+1] = r.NormFloat64(), float64(lc)
		if i%23 == 0 {
			xc[i*dc+1] = math.NaN()
		}
		z := bankRisk[lb] + centerRisk[lc] + 0.5*xb[i*db+1] - 0.7
		if r.Float64() < model.Logistic(z) {
			y[i] = 1
		}
	}
	g, err := model.TrainVerticalGBDTCategorical(xb, db, []bool{true, false}, xc, dc, []bool{false, true}, y, model.GBDTOptions{Trees: 6, MaxDepth: 3})
	require.NoError(t, err)
	am, pm, err := boost.SplitGBDT(g, db)
	require.NoError(t, err)
	cat := 0
	for _, s := range pm.Splits {
		if s.LeftBins != nil {
			cat++
		}
	}
	require.Positive(t, cat, "the center splits on its levels")
	require.Positive(t, am.CountSplits(model.Active))

	// New records, a tenth of them with levels unseen in training.
	const m = 500
	nb, nc := make([]float64, m*db), make([]float64, m*dc)
	for i := 0; i < m; i++ {
		nb[i*db], nb[i*db+1] = float64(r.IntN(len(bankRisk))), r.NormFloat64()
		nc[i*dc], nc[i*dc+1] = r.NormFloat64(), float64(r.IntN(len(centerRisk)))
		if i%10 == 0 {
			nb[i*db] = math.NaN()
		}
		if i%10 == 5 {
			nc[i*dc+1] = math.NaN()
		}
	}
	want, err := g.PredictLogit(model.JoinColumns(nb, db, nc, dc), db+dc)
	require.NoError(t, err)
	var res *Result
	be, ce, _ := run(nil,
		func(ctx context.Context, tr fl.Transport) (err error) {
			res, err = TreesActive(ctx, tr, bank, am, nb, db, Options{})
			return err
		},
		func(ctx context.Context, tr fl.Transport) error {
			return TreesPassive(ctx, tr, center, pm, nc, dc, Options{})
		})
	require.NoError(t, be)
	require.NoError(t, ce)
	o, _ := Options{}.normalize()
	agreement(t, res, want, o, 1+len(pm.Splits))

	// A code that is no level is refused before anything is sent.
	bad := append([]float64(nil), nc...)
	bad[1] = 2.5
	be, ce, _ = run(nil,
		func(ctx context.Context, tr fl.Transport) error {
			_, err := TreesActive(ctx, tr, bank, am, nb, db, Options{})
			return err
		},
		func(ctx context.Context, tr fl.Transport) error {
			return TreesPassive(ctx, tr, center, pm, bad, dc, Options{})
		})
	require.ErrorIs(t, ce, model.ErrCategories)
	require.ErrorIs(t, be, fl.ErrPeerAborted)
	require.ErrorContains(t, be, "row 0 column 1", "the bank hears which record")
	require.NotContains(t, be.Error(), "2.5", "but not the center's value")
}
