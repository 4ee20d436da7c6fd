package boost

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// TestDPHistograms: in the first tree g takes two values (p0 and p0 - 1)
// and h one, so the root's released sums give, for every cumulative bin of
// every center feature, the exact number of rows and of defaulters: the
// weak variant (no DP) reads every count exactly. With Options.DP the
// released sums carry noise of the stated sigma, and the counts read from
// them are off by about sigma.
func TestDPHistograms(t *testing.T) {
	if testing.Short() {
		t.Skip("the DP attack test runs in the full suite")
	}
	const n, db, dc = 2000, 2, 3
	xb, xc, y := synthetic(n, db, dc, 31)
	binning, err := model.FitBinning(xc, dc, 32)
	require.NoError(t, err)
	bins, err := binning.Bin(xc, dc)
	require.NoError(t, err)
	_, K := binning.Sizes()
	// readCounts is the attack: the defaulters of each cumulative bin of the
	// first node the bank saw (tree 1's root), and how many it got exactly.
	readCounts := func(seen []seenNode) (exact, total int, rms float64) {
		root := seen[0]
		p0 := root.g[root.rows[0]]
		if p0 < 0 {
			p0++
		}
		h0 := root.h[root.rows[0]]
		var sum2 float64
		for f := 0; f < dc; f++ {
			for b := range root.pg[f] {
				truth := 0
				for _, i := range root.rows {
					if bins[f][i] != model.MissingBin && int(bins[f][i]) <= b && y[i] == 1 {
						truth++
					}
				}
				rows := root.ph[f][b] / h0
				got := p0*rows - root.pg[f][b]
				if math.Round(got) == float64(truth) && math.Abs(got-float64(truth)) < 0.01 {
					exact++
				}
				sum2 += (got - float64(truth)) * (got - float64(truth))
				total++
			}
		}
		return exact, total, math.Sqrt(sum2 / float64(total))
	}
	base := model.GBDTOptions{Trees: 2, MaxDepth: 3}

	exact, total, rms := readCounts(trainSeen(t, xb, xc, y, db, dc, Options{GBDTOptions: base}, 0))
	t.Logf("weak variant (no DP): %d of %d cumulative defaulter counts read exactly (rms error %.2g)", exact, total, rms)
	require.Equal(t, total, exact, "the attack works without DP")

	dp := &DP{Epsilon: 8, Delta: 1e-5}
	o, err := base.WithDefaults()
	require.NoError(t, err)
	sigma := dp.Sigma(o, dc, K)
	exact, total, rms = readCounts(trainSeen(t, xb, xc, y, db, dc, Options{GBDTOptions: base, DP: dp}, 0))
	t.Logf("epsilon %v, delta %v: sigma %.1f; %d of %d counts read exactly, rms error %.1f", dp.Epsilon, dp.Delta, sigma, exact, total, rms)
	require.Less(t, exact, total/10)
	// The noise on G is sigma; the count read mixes in H's (sigma/4 times p0/h0).
	require.Greater(t, rms, 0.8*sigma)
}

// The privacy parameters are checked on both sides, and a center that
// demands differential privacy refuses a training without it.
func TestDPOptions(t *testing.T) {
	const n, db, dc = 300, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	seed := []byte("boost-test-joint-seed-0123456789a")
	for _, c := range []struct {
		name  string
		dp    *DP
		local PassiveOptions
		want  string
	}{
		{"zero epsilon", &DP{Delta: 1e-5}, PassiveOptions{}, "DP epsilon 0"},
		{"delta of 1", &DP{Epsilon: 1, Delta: 1}, PassiveOptions{}, "DP delta 1"},
		{"none, the center demands it", nil, PassiveOptions{MaxEpsilon: 4}, "epsilon at most 4"},
		{"too large an epsilon", &DP{Epsilon: 8, Delta: 1e-5}, PassiveOptions{MaxEpsilon: 4}, "epsilon at most 4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := TrainPassiveWith(ctx, tc, seed, Data{X: xc, Cols: dc}, c.local)
				done <- err
			}()
			_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, Options{GBDTOptions: model.GBDTOptions{Trees: 1}, DP: c.dp}, nil)
			center := <-done
			if c.local.MaxEpsilon > 0 { // the center's refusal
				require.ErrorIs(t, err, fl.ErrPeerAborted)
				err = center
			} else {
				require.Error(t, center)
			}
			require.ErrorIs(t, err, model.ErrOptions)
			require.ErrorContains(t, err, c.want)
		})
	}
}
