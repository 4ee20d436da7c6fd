package vlr

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// The guard of the default options covers several sigmoid intervals; a
// training whose masked coefficients leave no room for the interval, or
// whose rows pass the noise bound's limit, is refused, naming the limit.
func TestScoreGuard(t *testing.T) {
	o, err := Options{}.WithDefaults()
	require.NoError(t, err)
	g, err := ScoreGuard(o, 30000, 12, 16)
	require.NoError(t, err)
	t.Logf("default options, 30,000 rows: scores and weights hidden while within %.1f", g)
	require.Greater(t, g, 4*o.Bound)

	// More epochs open more coefficients and narrow the guard.
	long := o
	long.Epochs = 3000
	g2, err := ScoreGuard(long, 30000, 12, 16)
	require.NoError(t, err)
	require.Less(t, g2, g)

	// The largest training the limits allow, a million rows in full batch
	// for 100,000 epochs, still fits within the interval.
	huge := o
	huge.Epochs = 100_000
	g3, err := ScoreGuard(huge, he.Shared15.MaxRows, 12, 16)
	require.NoError(t, err)
	t.Logf("2^20 rows, 100,000 full-batch epochs: within %.1f", g3)
	require.GreaterOrEqual(t, g3, o.Bound)
	// With masks 41 bits narrower it would not: refused, naming the limit.
	_, err = scoreGuard(huge, he.Shared15.MaxRows, 12, 16, 158)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "train fewer epochs or rows")

	_, err = ScoreGuard(o, he.Shared15.MaxRows+1, 12, 16)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "rows")
}

// TestMaskWidth pins the masks' width the package doc states: 199 bits,
// uniform in [-2^198, 2^198), at Shared15's share level.
func TestMaskWidth(t *testing.T) {
	p := he.MustParams(he.Shared15)
	require.Equal(t, 199.0, p.ShareCapacity(he.Shared15.DecryptLevel))
}

func TestFeatureLimit(t *testing.T) {
	d := Data{X: []float64{1, 2, 3, -40, 5, 6}, Cols: 3}
	err := checkData(d, false)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "row 1, column 0 is past the 32")
	require.NotContains(t, err.Error(), "40", "the error reaches the peer: it names the value's place, not the value")
	require.ErrorContains(t, err, "Standardizer.Clip")
	d.X[3] = -32
	require.NoError(t, checkData(d, false))
}

// TestCategoricalRefused: level codes are no scale for a weight, so vlr
// refuses Data that marks categorical columns and names the fix.
func TestCategoricalRefused(t *testing.T) {
	d := Data{X: []float64{0, 1, 2, 1}, Cols: 2, Categories: &model.Categories{Columns: []*model.Levels{nil, {Column: "kind"}}}}
	err := checkData(d, false)
	require.ErrorIs(t, err, ErrOptions)
	require.ErrorContains(t, err, "one-hot")
	d.Categories = nil
	require.NoError(t, checkData(d, false))
}

// TestRevealSet: a RevealGradients training floods its decryptions as its
// own size needs. The set keeps Linear14's id, ring and scale; its noise
// bound is the largest of its gradients' and loss sums' (he.XtdNoiseBound,
// he.SlotSumNoiseBound) at the limits both parties enforce, its budget
// the coefficients all its epochs decrypt; a training past the rows or
// the budget is refused, naming the limit.
func TestRevealSet(t *testing.T) {
	p := he.MustParams(he.Linear14)
	o, err := Options{Epochs: 8, TrackLoss: true, RevealGradients: true}.WithDefaults()
	require.NoError(t, err)
	set, err := revealSet(o, 3000, 3, 4)
	require.NoError(t, err)
	require.Equal(t, he.Linear14.ID, set.ID)
	require.Equal(t, he.Linear14.LogQ, set.LogQ)
	require.Equal(t, he.Linear14.LogScale, set.LogScale)
	// 8 epochs: two one-block gradients a batch and one loss sum an epoch.
	require.Equal(t, 1, he.XtdCiphertexts(p, 3000, 4))
	require.Equal(t, int(math.Ceil(math.Log2(8*3))+14), set.LogMaxDecrypted)
	want := math.Max(he.XtdNoiseBound(p, 3000, 4, revealSquares(3000), revealWeight), he.SlotSumNoiseBound(p, 3000, 1, 1, revealWeight))
	require.InDelta(t, want, set.LogNoiseBound, 0.1)
	require.GreaterOrEqual(t, set.LogNoiseBound, want)
	// The precision the flooding leaves a gradient (X^T d / |B|): the
	// flooding times sqrt(N/2) (a real slot's decoding), over the scale
	// and the batch.
	grad := math.Exp2(set.LogFlood()+6.5-set.LogScale) / 3000
	t.Logf("3,000 rows, 8 full-batch epochs: noise bound 2^%.1f, 2^%d coefficients, flooding 2^%.1f: %.2g per gradient coordinate", set.LogNoiseBound, set.LogMaxDecrypted, set.LogFlood(), grad)
	require.Less(t, grad, 1e-6)
	_, err = he.NewParams(set)
	require.NoError(t, err)

	// More epochs, a larger budget, a wider flooding.
	long := o
	long.Epochs = 800
	set2, err := revealSet(long, 3000, 3, 4)
	require.NoError(t, err)
	require.Greater(t, set2.LogFlood(), set.LogFlood())

	// Past the budget or the rows: refused.
	long.Epochs, long.BatchSize = 100_000, 100
	_, err = revealSet(long, 3000, 3, 4)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "train fewer epochs or batches")
	_, err = revealSet(o, he.Linear14.MaxRows+1, 3, 4)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "rows")
}

// A column whose sum of squares over a batch passes the limit the flooding
// of the revealed gradients is sized for is refused, naming the column and
// the batch but not the sum; small batches are held to the limit of 1024
// rows.
func TestRevealSquares(t *testing.T) {
	const rows, cols = 2048, 2
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = 2 // mean square 4: at the limit
	}
	d := Data{X: x, Cols: cols}
	bs := [][]int{make([]int, 1024), make([]int, 1024)}
	for i := range 2048 {
		bs[i/1024][i%1024] = i
	}
	require.NoError(t, checkSquares(d, bs))
	require.NoError(t, checkSquares(d, [][]int{{0, 1, 2}}), "a batch of 3 rows may hold large values")
	x[1500*cols+1] = 3
	err := checkSquares(d, bs)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "column 1's sum of squares over batch 1 (1024 rows)")
	require.NotContains(t, err.Error(), "4101", "the error reaches the peer: no sum")
}

// TestRevealScoresLeaveInterval: when the bank's partial scores leave the
// sigmoid's interval, the weight of its factors of the center's powers
// passes the limit the flooding is sized for, and the bank's combination
// refuses the batch before anything is decrypted; the center is told why,
// with no value. Large initial weights on 12 features of mean square 4
// put the bank's partial scores far past an interval of 4.
func TestRevealScoresLeaveInterval(t *testing.T) {
	const n, db, dc = 400, 12, 2
	testInitSeed = []byte("leave the interval")
	defer func() { testInitSeed = nil }()
	xb, xc, y := synthetic(n, db, dc, 5)
	for i := range xb {
		xb[i] = 2 * math.Copysign(1, xb[i])
	}
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
		done <- err
	}()
	_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, Options{Epochs: 1, RevealGradients: true, InitScale: 1, Bound: 4}, nil)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "batch 0")
	require.ErrorContains(t, err, "left the sigmoid's interval")
	cerr := <-done
	require.ErrorIs(t, cerr, fl.ErrPeerAborted)
	require.ErrorContains(t, cerr, "left the sigmoid's interval")
}
