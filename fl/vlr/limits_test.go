package vlr

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/he"
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
	err := d.check(false)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "row 1, column 0 is -40")
	require.ErrorContains(t, err, "Standardizer.Clip")
	d.X[3] = -32
	require.NoError(t, d.check(false))
}
