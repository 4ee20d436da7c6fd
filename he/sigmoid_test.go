package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func logistic(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func TestFitSigmoid(t *testing.T) {
	cases := []struct {
		degree int
		bound  float64
		maxErr float64
	}{
		{1, 1, 0.005},
		{3, 8, 0.12},
		{5, 8, 0.06},
		{7, 8, 0.03},
		{7, 6, 0.01},
	}
	for _, c := range cases {
		p, err := FitSigmoid(c.degree, c.bound)
		require.NoError(t, err)
		worst := 0.0
		for z := -c.bound; z <= c.bound; z += c.bound / 500 {
			worst = math.Max(worst, math.Abs(p.Eval(z)-logistic(z)))
		}
		t.Logf("degree %d on [-%g, %g]: max error %.4f", c.degree, c.bound, c.bound, worst)
		require.Less(t, worst, c.maxErr)
	}
	// On a small interval the linear fit is FATE's Taylor 0.5 + z/4.
	p, err := FitSigmoid(1, 0.1)
	require.NoError(t, err)
	require.InDelta(t, 0.5, p.Coeffs[0], 1e-6)
	require.InDelta(t, 0.25, p.Coeffs[1], 5e-4)
	_, err = FitSigmoid(0, 8)
	require.Error(t, err)
	_, err = FitSigmoid(3, math.NaN())
	require.Error(t, err)
}

func TestShifted(t *testing.T) {
	p, err := FitSigmoid(5, 8)
	require.NoError(t, err)
	u := []float64{-3, 0, 0.7, 2.5}
	co := p.Shifted(u)
	for i, ui := range u {
		for _, x := range []float64{-2, 0.3, 1.9} {
			got, xp := 0.0, 1.0
			for k := range co {
				got += co[k][i] * xp
				xp *= x
			}
			require.InDelta(t, p.Eval(ui+x), got, 1e-9)
		}
	}
}

// TestSigmoidResidualEncrypted runs the bank's step of vertical LR on n =
// 100,000 rows: the center encrypts the powers of its partial scores, the
// bank computes d = p(u_b + u_c) - y under encryption, and the result, decrypted
// jointly, matches float64 within 1e-6.
func TestSigmoidResidualEncrypted(t *testing.T) {
	const n = 100_000
	r := rand.New(rand.NewPCG(9, 10))
	p, err := FitSigmoid(5, 8)
	require.NoError(t, err)
	bank, center := pairFor(t, Linear14, KeySpec{})
	ub, uc, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range ub {
		ub[i], uc[i] = r.NormFloat64()*1.5, r.NormFloat64()*1.5
		if r.Float64() < 0.2 {
			y[i] = 1
		}
	}
	var powers []*Vector
	xp := make([]float64, n)
	copy(xp, uc)
	for k := 1; k <= p.Degree(); k++ {
		v, err := center.Encrypt(xp)
		require.NoError(t, err)
		powers = append(powers, v)
		for i := range xp {
			xp[i] *= uc[i]
		}
	}
	co := p.Shifted(ub)
	constant := make([]float64, n)
	for i := range constant {
		constant[i] = co[0][i] - y[i]
	}
	d, err := bank.Combine(powers, co[1:], constant)
	require.NoError(t, err)
	require.Equal(t, Linear14.DecryptLevel+1, d.Level())
	share, err := center.DecryptShare(d)
	require.NoError(t, err)
	got, err := bank.Decrypt(d, share)
	require.NoError(t, err)
	want := make([]float64, n)
	for i := range want {
		want[i] = p.Eval(ub[i]+uc[i]) - y[i]
	}
	// The flooding of a slot decryption costs about 2^-19 (2e-6) per slot at
	// one standard deviation; the maximum over 100,000 slots is near 4.5 of them.
	t.Logf("encrypted residual: max abs error %.2e", maxAbsErr(got, want))
	require.Less(t, maxAbsErr(got, want), 2e-5)
}

func TestSumSlots(t *testing.T) {
	p := MustParams(Linear14)
	bank, center := pairFor(t, Linear14, KeySpec{Rotations: SumRotations(p)})
	vals := randVec(rand.New(rand.NewPCG(5, 5)), 20_000, 1)
	v, err := bank.Encrypt(vals)
	require.NoError(t, err)
	s, err := bank.SumSlots(v)
	require.NoError(t, err)
	share, err := center.DecryptShare(s)
	require.NoError(t, err)
	got, err := bank.Decrypt(s, share)
	require.NoError(t, err)
	want := 0.0
	for _, x := range vals {
		want += x
	}
	require.InDelta(t, want, got[0], 1e-4)
	_, err = center.SumSlots(v) // the keys are collective: either party can sum
	require.NoError(t, err)
}

func TestFitSoftplus(t *testing.T) {
	q, err := FitSoftplus(6, 8)
	require.NoError(t, err)
	worst := 0.0
	for z := -8.0; z <= 8; z += 0.01 {
		worst = math.Max(worst, math.Abs(math.Log1p(math.Exp(z))-q.Eval(z)))
	}
	t.Logf("softplus, degree 6 on [-8, 8]: max error %.4f", worst)
	require.Less(t, worst, 0.04) // log-loss values are about 0.3-0.7 per row
}
