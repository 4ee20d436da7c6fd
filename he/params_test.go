package he

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every named set meets the 128-bit bound of the HE standard.
func TestParamSetsSecurity(t *testing.T) {
	for _, s := range ParamSets {
		p, err := NewParams(s)
		require.NoError(t, err, s.ID)
		bound := MaxLogQP(s.LogN)
		t.Logf("%s: N=2^%d logQP=%.1f bound %.0f, scale 2^%.0f, flood 2^%.0f", s.ID, s.LogN, p.LogQP(), bound, s.LogScale, s.LogFlood())
		require.LessOrEqual(t, p.LogQP(), bound, s.ID)
		got, err := ParamSetByID(s.ID)
		require.NoError(t, err)
		require.Equal(t, s.ID, got.ID)
	}
	insecure := Hist13
	insecure.ID, insecure.LogQ = "insecure", []int{60, 60, 60}
	_, err := NewParams(insecure)
	require.ErrorContains(t, err, "128-bit bound")
	_, err = ParamSetByID("nope")
	require.ErrorIs(t, err, ErrUnknownParamSet)
}

// The helper's decryption share carries the flooding it claims: share minus
// c1*s_helper, which only a test can compute, has standard deviation
// 2^LogFlood and mean zero.
func TestShareFloodingNoise(t *testing.T) {
	for _, s := range ParamSets {
		t.Run(s.ID, func(t *testing.T) {
			bank, center := pairFor(t, s, KeySpec{})
			v, err := bank.Encrypt(randVec(rand.New(rand.NewPCG(1, 3)), 10, 1))
			require.NoError(t, err)
			share, err := center.DecryptShare(v)
			require.NoError(t, err)
			ct := v.Cts[0]
			rq := center.params.ckks.RingQ().AtLevel(ct.Level())
			e := rq.NewPoly()
			rq.MulCoeffsMontgomery(ct.Value[1], center.sk.Value.Q, e)
			rq.Sub(share.Polys[0], e, e)
			rq.INTT(e, e)
			coeffs := make([]*big.Int, rq.N())
			for i := range coeffs {
				coeffs[i] = new(big.Int)
			}
			rq.PolyToBigintCentered(e, 1, coeffs)
			var sum, sum2 float64
			for _, c := range coeffs {
				f, _ := new(big.Float).SetInt(c).Float64()
				sum += f
				sum2 += f * f
			}
			n := float64(len(coeffs))
			std := math.Sqrt(sum2/n - (sum/n)*(sum/n))
			sigma := math.Exp2(s.LogFlood())
			t.Logf("share noise std 2^%.3f, claimed 2^%.0f", math.Log2(std), s.LogFlood())
			require.InDelta(t, 1, std/sigma, 0.05)
			require.Less(t, math.Abs(sum/n), 5*sigma/math.Sqrt(n))
		})
	}
}

func TestComplexPacking(t *testing.T) {
	bank, center := pairFor(t, Linear14, KeySpec{})
	r := rand.New(rand.NewPCG(4, 4))
	g, h := randVec(r, 20_000, 1), randVec(r, 20_000, 0.25)
	v, err := bank.EncryptComplex(g, h)
	require.NoError(t, err)
	require.Len(t, v.Cts, 3) // 20,000 pairs in 8,192-slot ciphertexts
	share, err := bank.DecryptShare(v)
	require.NoError(t, err)
	got, err := center.DecryptComplex(v, share)
	require.NoError(t, err)
	for i := range g {
		require.InDelta(t, g[i], real(got[i]), 2e-5)
		require.InDelta(t, h[i], imag(got[i]), 2e-5)
	}
	_, err = bank.EncryptComplex(g, h[:5])
	require.Error(t, err)
}
