package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

var testSeed = []byte("veil-he-test-seed-0123456789abcdef")

func pairFor(t testing.TB, s ParamSet, spec KeySpec) (*Party, *Party) {
	t.Helper()
	a, b, err := localPair(MustParams(s), spec, testSeed)
	require.NoError(t, err)
	return a, b
}

func randVec(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*r.Float64() - 1) * scale
	}
	return v
}

func maxAbsErr(got, want []float64) float64 {
	m := 0.0
	for i := range want {
		m = math.Max(m, math.Abs(got[i]-want[i]))
	}
	return m
}

// floodTol bounds, in value units, the error one flooded decryption share
// adds to a coefficient: eight standard deviations of the flooding, so a
// vector of a million coefficients exceeds it with probability below 2^-30.
func floodTol(s ParamSet) float64 { return 8 * math.Exp2(s.LogFlood()-s.LogScale) }

func TestThresholdDecryption(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range ParamSets {
		t.Run(s.ID, func(t *testing.T) {
			bank, center := pairFor(t, s, KeySpec{})
			want := randVec(r, 3*bank.Params().Slots()+17, 100)
			if s.ID == Linear14.ID {
				// Slot layout, decrypted to the center: the bank helps.
				v, err := bank.Encrypt(want)
				require.NoError(t, err)
				share, err := bank.DecryptShare(v)
				require.NoError(t, err)
				got, err := center.Decrypt(v, share)
				require.NoError(t, err)
				require.Less(t, maxAbsErr(got, want), 1e-4)
			}

			// Coefficient layout, decrypted to the bank.
			cv, err := center.EncryptCoeffs(want, bank.Params().N()/4)
			require.NoError(t, err)
			share, err := center.DecryptShare(cv)
			require.NoError(t, err)
			got, err := bank.Decrypt(cv, share)
			require.NoError(t, err)
			// The flooding's standard deviation in value units, times the
			// largest of some 10^4 Gaussian draws (below 6).
			require.Less(t, maxAbsErr(got, want), 6*math.Exp2(s.LogFlood()-s.LogScale))
		})
	}
}

func TestOneShareDoesNotDecrypt(t *testing.T) {
	bank, center := pairFor(t, Hist13, KeySpec{})
	want := randVec(rand.New(rand.NewPCG(3, 4)), 100, 1)
	v, err := bank.Encrypt(want)
	require.NoError(t, err)
	// The bank combines with a zero "share" from the center: it only has its
	// own key share, and gets noise, not the values.
	zero := &DecryptionShare{ParamSet: Hist13.ID}
	for _, ct := range v.Cts {
		zero.Polys = append(zero.Polys, bank.params.ckks.RingQ().AtLevel(Hist13.DecryptLevel).NewPoly())
		_ = ct
	}
	got, err := bank.Decrypt(v, zero)
	require.NoError(t, err)
	require.Greater(t, maxAbsErr(got, want), 1e3, "one key share alone must not decrypt")
	// Neither does the center's own share used twice.
	own, err := center.DecryptShare(v)
	require.NoError(t, err)
	got, err = center.Decrypt(v, own)
	require.NoError(t, err)
	require.Greater(t, maxAbsErr(got, want), 1e3)
}
