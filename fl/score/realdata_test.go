package score

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

const sharedData = "../../../shared/data"

// quintileCuts returns the 20/40/60/80% quantiles of z: five grades, with
// records on and around every cut.
func quintileCuts(z []float64) []float64 {
	s := slices.Clone(z)
	slices.Sort(s)
	cuts := make([]float64, 0, 4)
	for _, q := range []float64{0.2, 0.4, 0.6, 0.8} {
		c := s[int(q*float64(len(s)))]
		if len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// TestBandsRealData scores every enterprise of default_credit (30,000
// rows, 13 bank + 10 center columns) with band output, for an LR and a
// 30-tree ensemble trained in plaintext on the joined columns and split
// into halves, with five grades cut at the quintiles of the plaintext
// logits (so records lie on every cut): at least 99.9% of the bands must
// equal the plaintext ones and a band may differ only within the documented
// BandEpsilon of a cut (agreement).
func TestBandsRealData(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: %s is absent (the real datasets ship beside the repository in CI)", sharedData)
	}
	if testing.Short() {
		t.Skip("skipping the real-data scoring in -short mode")
	}
	bank, center := fltest.SharedPair(t, sharedData, "default_credit")
	db, dc, n := bank.Cols(), center.Cols(), bank.Rows()
	x := model.JoinColumns(bank.X, db, center.X, dc)

	t.Run("lr", func(t *testing.T) {
		w, b, _, err := model.TrainLR(x, bank.Labels, db+dc, model.LROptions{Epochs: 10, BatchSize: 4096})
		require.NoError(t, err)
		ub, uc, want := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range n {
			ub[i] = b
			for j := range db {
				ub[i] += w[j] * bank.X[i*db+j]
			}
			for j := range dc {
				uc[i] += w[db+j] * center.X[i*dc+j]
			}
			want[i] = ub[i] + uc[i]
		}
		o := Options{Cuts: LogitCuts(quintileCuts(want)...)}
		var res *Result
		be, ce, st := run(nil,
			func(ctx context.Context, tr fl.Transport) (err error) {
				res, err = LinearActive(ctx, tr, nil, ub, o)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, o) })
		require.NoError(t, be)
		require.NoError(t, ce)
		t.Logf("LR, cuts %.4f: %.0f bytes a record", o.Cuts, float64(st.SentBytes+st.RecvBytes)/float64(n))
		agreement(t, res, want, Options{Output: Bands, Cuts: o.Cuts}, 2)
	})

	t.Run("trees", func(t *testing.T) {
		g, err := model.TrainGBDT(x, bank.Labels, db+dc, model.GBDTOptions{Trees: 30, MaxDepth: 3})
		require.NoError(t, err)
		want, err := g.PredictLogit(x, db+dc)
		require.NoError(t, err)
		am, pm, err := boost.SplitGBDT(g, db)
		require.NoError(t, err)
		o := Options{Cuts: LogitCuts(quintileCuts(want)...)}
		var res *Result
		be, ce, st := run(nil,
			func(ctx context.Context, tr fl.Transport) (err error) {
				res, err = TreesActive(ctx, tr, nil, am, bank.X, db, o)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error {
				return TreesPassive(ctx, tr, nil, pm, center.X, dc, o)
			})
		require.NoError(t, be)
		require.NoError(t, ce)
		t.Logf("trees (%d center splits), cuts %.4f: %.0f bytes a record", len(pm.Splits), o.Cuts, float64(st.SentBytes+st.RecvBytes)/float64(n))
		agreement(t, res, want, Options{Output: Bands, Cuts: o.Cuts}, 1+len(pm.Splits))
	})
}
