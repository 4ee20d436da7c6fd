package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// decryptFor decrypts v for a with b's flooded share.
func decryptFor(t *testing.T, a, b *Party, v *Vector) []float64 {
	t.Helper()
	share, err := b.DecryptShare(v)
	require.NoError(t, err)
	got, err := a.Decrypt(v, share)
	require.NoError(t, err)
	return got
}

func TestCombinePairs(t *testing.T) {
	bank, center := pairFor(t, Linear14, KeySpec{Conjugate: true})
	r := rand.New(rand.NewPCG(1, 2))
	n := bank.Params().Slots() + 100 // two ciphertexts, the second partly used
	const terms = 3
	var xs []*Vector
	var re, im [][]float64
	want := randVec(r, n, 3)
	constant := append([]float64(nil), want...)
	for range terms {
		a, b := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], b[i] = float64(r.IntN(2)), float64(r.IntN(2))
		}
		x, err := center.EncryptComplexAt(a, b, 2)
		require.NoError(t, err)
		cr, ci := randVec(r, n, 2), randVec(r, n, 2)
		for i := range want {
			want[i] += cr[i]*a[i] + ci[i]*b[i]
		}
		xs, re, im = append(xs, x), append(re, cr), append(im, ci)
	}
	z, err := bank.CombinePairs(xs, re, im, constant)
	require.NoError(t, err)
	require.Equal(t, 1, z.Level())
	require.Equal(t, SlotReal, z.Layout)
	got := decryptFor(t, bank, center, z)
	require.Less(t, maxAbsErr(got, want), 1e-5)

	// The imaginary parts, which would carry the cross terms, are noise only.
	asPairs := *z
	asPairs.Layout = SlotComplex
	share, err := center.DecryptShare(&asPairs)
	require.NoError(t, err)
	c, err := bank.DecryptComplex(&asPairs, share)
	require.NoError(t, err)
	for i := range c {
		require.Less(t, math.Abs(imag(c[i])), 1e-4, "slot %d", i)
	}

	t.Run("needs the conjugation key", func(t *testing.T) {
		a, _ := pairFor(t, Linear14, KeySpec{})
		_, err := a.CombinePairs(xs, re, im, nil)
		require.ErrorContains(t, err, "conjugation key")
	})
	t.Run("shape errors", func(t *testing.T) {
		_, err := bank.CombinePairs(xs, re[:1], im, nil)
		require.ErrorIs(t, err, ErrShape)
		plain, err := center.EncryptAt(make([]float64, n), 2)
		require.NoError(t, err)
		_, err = bank.CombinePairs([]*Vector{plain}, re[:1], im[:1], nil)
		require.ErrorIs(t, err, ErrShape)
	})
}

func TestAddPlain(t *testing.T) {
	bank, center := pairFor(t, Linear14, KeySpec{})
	r := rand.New(rand.NewPCG(3, 4))
	n := 1000
	u, v := randVec(r, n, 5), randVec(r, n, 5)
	x, err := center.EncryptAt(u, 1)
	require.NoError(t, err)
	require.NoError(t, bank.AddPlain(x, v))
	got := decryptFor(t, bank, center, x)
	for i := range u {
		u[i] += v[i]
	}
	require.Less(t, maxAbsErr(got, u), 1e-5)
	require.ErrorIs(t, bank.AddPlain(x, v[:10]), ErrShape)
}

// TestScoreNoise measures the noise of the scoring pipeline's decrypted
// vectors (pairs combined) against the analytic bound of their weight
// (ScoreNoiseBound, within Linear14's LogNoiseBound, which the flooding of
// the decryption shares is sized for): the root mean square over the
// coefficients below it, the largest below it times maxFactor.
func TestScoreNoise(t *testing.T) {
	bank, center := pairFor(t, Linear14, KeySpec{Conjugate: true})
	r := rand.New(rand.NewPCG(7, 8))
	n := bank.Params().Slots()
	const terms = 200 // 400 center splits: 50 trees of depth 3 at most hold 350
	as, bs := make([][]float64, terms), make([][]float64, terms)
	re, im := make([][]float64, terms), make([][]float64, terms)
	for k := range terms {
		as[k], bs[k] = make([]float64, n), make([]float64, n)
		for i := range n {
			as[k][i], bs[k][i] = float64(r.IntN(2)), float64(r.IntN(2))
		}
		re[k], im[k] = randVec(r, n, 1), randVec(r, n, 1)
	}
	run := func() *Vector {
		xs := make([]*Vector, terms)
		for k := range xs {
			var err error
			xs[k], err = center.EncryptComplexAt(as[k], bs[k], 3)
			require.NoError(t, err)
		}
		z, err := bank.CombinePairs(xs, re, im, nil)
		require.NoError(t, err)
		return z
	}
	z1, z2 := run(), run()
	limit := ScoreNoiseBound(bank.Params(), CombineWeight(re, im))
	require.LessOrEqual(t, limit, Linear14.LogNoiseBound)
	largest, rms := noiseStats(t, bank, center, z1, z2)
	t.Logf("noise: combined scores 2^%.1f largest, 2^%.1f root mean square, bound 2^%.1f", largest, rms, limit)
	require.Less(t, rms, limit)
	require.Less(t, largest, limit+maxFactor(len(z1.Cts)*bank.Params().N()))
}
