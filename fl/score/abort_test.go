package score

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// requireHides fails if err's text quotes v in any of the forms an error
// would print it.
func requireHides(t *testing.T, err error, v float64) {
	t.Helper()
	require.Error(t, err)
	for _, form := range []string{strconv.FormatFloat(v, 'g', -1, 64), fmt.Sprint(v), fmt.Sprintf("%.4g", v), fmt.Sprintf("%.3g", v), fmt.Sprintf("%g", v)} {
		require.NotContains(t, err.Error(), form, "the error quotes the private value %v", v)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		require.NotContains(t, err.Error(), "NaN")
		require.NotContains(t, err.Error(), "Inf")
	}
}

// TestAbortReasonsHideValues: a run refused for a private value (a partial
// score out of band output's range or not finite, the bound of a record's
// tree score, a cut of a party's binning) tells the peer which record or
// model, never the value. The peer's error is the abort reason it
// received; the refusing party's own error is what a Service would send
// as the RPC's status, so it must not quote the value either.
func TestAbortReasonsHideValues(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 16))
	u := normals(r, 5, 1)
	linear := func(ub, uc []float64, o Options) (bankErr, centerErr error) {
		be, ce, _ := run(nil,
			func(ctx context.Context, tr fl.Transport) error {
				_, err := LinearActive(ctx, tr, nil, ub, o)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, o) })
		return be, ce
	}
	with := func(v []float64, i int, x float64) []float64 {
		w := append([]float64(nil), v...)
		w[i] = x
		return w
	}
	bands := Options{Cuts: LogitCuts(0)}

	t.Run("the center's partial score out of range", func(t *testing.T) {
		v := -700.123456789
		be, ce := linear(u, with(u, 3, v), bands)
		require.ErrorIs(t, be, fl.ErrPeerAborted)
		require.ErrorContains(t, be, "partial score of record 3")
		requireHides(t, be, v)
		requireHides(t, ce, v)
	})
	t.Run("the bank's partial score out of range", func(t *testing.T) {
		v := 612.987654321
		be, ce := linear(with(u, 2, v), u, bands)
		require.ErrorIs(t, ce, fl.ErrPeerAborted)
		require.ErrorContains(t, ce, "partial score of record 2")
		requireHides(t, ce, v)
		requireHides(t, be, v)
	})
	for _, v := range []float64{math.Inf(1), math.NaN()} {
		t.Run(fmt.Sprintf("the center's partial score %v", v), func(t *testing.T) {
			be, ce := linear(u, with(u, 1, v), Options{Cuts: LogitCuts(0)})
			require.ErrorIs(t, be, fl.ErrPeerAborted)
			require.ErrorContains(t, be, "record 1 is not a finite number")
			requireHides(t, be, v)
			requireHides(t, ce, v)
		})
	}

	t.Run("a tree score that may pass the range", func(t *testing.T) {
		const n, db, dc = 300, 3, 4
		_, am, pm, xb, xc := splitModel(t, n, db, dc, 3, 17)
		for _, tr := range am.Trees {
			for v := range tr.Nodes {
				tr.Nodes[v].Weight *= 5000
			}
		}
		// The bank's bound per record, as the run computes it.
		bins, err := am.Binning.Bin(xb, db)
		require.NoError(t, err)
		pl := newTreePlan(am)
		constant := make([]float64, n)
		coef := make([][]float64, len(pl.links))
		for k := range coef {
			coef[k] = make([]float64, n)
		}
		pl.coefficients(bins, 0, n, constant, coef)
		first, bound := -1, 0.0
		for i := range n {
			b := math.Abs(constant[i])
			for k := range coef {
				b += math.Abs(coef[k][i])
			}
			if b >= MaxBandInput {
				first, bound = i, b
				break
			}
		}
		require.GreaterOrEqual(t, first, 0, "no record passes the range: scale the weights more")
		be, ce, _ := run(nil,
			func(ctx context.Context, tr fl.Transport) error {
				_, err := TreesActive(ctx, tr, nil, am, xb, db, bands)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return TreesPassive(ctx, tr, nil, pm, xc, dc, bands) })
		require.ErrorIs(t, ce, fl.ErrPeerAborted)
		require.ErrorContains(t, ce, fmt.Sprintf("record %d's score", first))
		requireHides(t, ce, bound)
		requireHides(t, be, bound)
	})

	t.Run("a cut of the center's binning", func(t *testing.T) {
		const n, db, dc = 300, 3, 4
		_, am, pm, xb, xc := splitModel(t, n, db, dc, 3, 18)
		j := 0
		for len(pm.Binning.Cuts[j]) < 2 {
			j++
		}
		v := pm.Binning.Cuts[j][0]
		pm.Binning.Cuts[j][1] = v // not ascending: Validate quotes it
		require.ErrorContains(t, pm.Validate(), strconv.FormatFloat(v, 'g', -1, 64), "the owner's Validate says why")
		be, ce, _ := run(nil,
			func(ctx context.Context, tr fl.Transport) error {
				_, err := TreesActive(ctx, tr, nil, am, xb, db, bands)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return TreesPassive(ctx, tr, nil, pm, xc, dc, bands) })
		require.ErrorIs(t, be, fl.ErrPeerAborted)
		require.ErrorContains(t, be, "the center's model fails its checks")
		require.ErrorIs(t, ce, model.ErrBadModel)
		requireHides(t, be, v)
		requireHides(t, ce, v)
	})
}

// TestServiceHidesItsConfiguration: a Service whose Prepare fails (here a
// center LR half with an intercept, which Validate quotes) ends every
// session with an error that says so and nothing more: the error of
// Handle is the status of the bank's RPC. The operator's Prepare has the
// detail.
func TestServiceHidesItsConfiguration(t *testing.T) {
	f := newServiceFixture(t, 100)
	v := 0.123456789
	lr := *f.lrCenter
	lr.Intercept = v
	svc := &Service{Table: f.center, LR: &lr, Banks: map[string]Quota{"bank0": {}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	err := svc.Handle(context.Background(), tc)
	require.ErrorIs(t, err, ErrOptions)
	require.ErrorContains(t, err, "misconfigured")
	requireHides(t, err, v)
	require.ErrorContains(t, svc.Prepare(), strconv.FormatFloat(v, 'g', -1, 64), "the operator's Prepare says why")
}
