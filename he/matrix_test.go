package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// xtdPlain is the float64 reference for X^T v.
func xtdPlain(x []float64, rows, cols int, v []float64) []float64 {
	y := make([]float64, cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			y[j] += x[i*cols+j] * v[i]
		}
	}
	return y
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func TestMulTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct{ rows, cols int }{
		{100_000, 21},
		{1000, 1},
		{9000, 300},
		{60_000, 300}, // several row blocks
	}
	var rots []int
	for _, c := range cases {
		rots = append(rots, XtdRotations(MustParams(Linear14), c.rows, c.cols)...)
	}
	center, bank := pairFor(t, Linear14, KeySpec{Rotations: rots})
	for _, c := range cases {
		x := make([]float64, c.rows*c.cols)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		d := randVec(r, c.rows, 1)
		m, err := center.PrepareMatrix(x, c.rows, c.cols)
		require.NoError(t, err)
		if c.rows == 60_000 {
			require.Greater(t, m.blocks, 1)
		}
		require.LessOrEqual(t, len(XtdRotations(center.Params(), c.rows, c.cols)), maxXtdKeys)
		enc, err := bank.Encrypt(d)
		require.NoError(t, err)
		y, err := center.MulTransposed(m, enc)
		require.NoError(t, err)
		require.Equal(t, Linear14.DecryptLevel, y.Level())
		share, err := bank.DecryptShare(y)
		require.NoError(t, err)
		got, err := center.Decrypt(y, share)
		require.NoError(t, err)
		want := xtdPlain(x, c.rows, c.cols, d)
		rel := maxAbsErr(got, want) / maxAbs(want)
		t.Logf("X^T d %dx%d: max relative error %.2e (max |y| %.1f)", c.rows, c.cols, rel, maxAbs(want))
		require.Less(t, rel, 1e-6)
		enc2, err := bank.Encrypt(d)
		require.NoError(t, err)
		y2, err := center.MulTransposed(m, enc2)
		require.NoError(t, err)
		// The noise against its analytic bound (XtdNoiseBound: a fresh d,
		// not rerandomized, carries less than the bound's combined one),
		// for the largest of its coefficients (TestLinearNoiseBounds).
		noise := noiseLog2(t, center, bank, y, y2)
		squares := 0.0
		for j := 0; j < c.cols; j++ {
			s := 0.0
			for i := 0; i < c.rows; i++ {
				s += x[i*c.cols+j] * x[i*c.cols+j]
			}
			squares = math.Max(squares, s)
		}
		bound := XtdNoiseBound(center.Params(), c.rows, c.cols, squares, 0)
		t.Logf("X^T d %dx%d: ciphertext noise 2^%.1f, bound 2^%.1f (root mean square)", c.rows, c.cols, noise, bound)
		require.Less(t, noise, bound+maxFactor(len(y.Cts)*center.Params().N()))
	}
}
