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

// band is the number of cuts strictly below z.
func band(z float64, cuts []float64) int {
	b := 0
	for _, c := range cuts {
		if z > c {
			b++
		}
	}
	return b
}

func TestBlindSigns(t *testing.T) {
	bank, center := pairFor(t, Linear14, KeySpec{})
	r := rand.New(rand.NewPCG(5, 6))
	n := bank.Params().Slots() + 37
	cuts := []float64{-2, -0.5, 0, 1.25}
	z := randVec(r, n, 8)
	z[0], z[1] = cuts[2]+1e-4, cuts[1]-1e-4 // close calls
	enc, err := bank.EncryptAt(z, 2)
	require.NoError(t, err)
	ys, err := center.BlindSigns(enc, cuts)
	require.NoError(t, err)
	require.Len(t, ys, (len(cuts)+1)/2)
	// values[i] holds record i's 2*len(ys) decrypted parts.
	values := make([][]float64, len(z))
	for _, y := range ys {
		require.Equal(t, 1, y.Level())
		require.Equal(t, SlotComplex, y.Layout)
		share, err := bank.DecryptShare(y)
		require.NoError(t, err)
		c, err := center.DecryptComplex(y, share)
		require.NoError(t, err)
		for i := range z {
			values[i] = append(values[i], real(c[i]), imag(c[i]))
		}
	}
	for i := range z {
		pos := 0
		for j, v := range values[i] {
			if v > 0 {
				pos++
			}
			// Each value is a cut's difference blinded by a factor in
			// [1, 2^BlindBits): some cut explains it.
			ok := false
			for _, c := range cuts {
				ratio := v / (z[i] - c)
				ok = ok || (ratio > 1-1e-3 && ratio < math.Exp2(BlindBits)*(1+1e-3))
			}
			require.True(t, ok, "record %d value %d = %v explained by no cut", i, j, v)
		}
		require.Equal(t, band(z[i], cuts), pos, "record %d z=%v", i, z[i])
	}

	// The same record's values come in a different cut order from record
	// to record: the place of the negative ones is not fixed.
	negAt := map[int]bool{}
	for i := range 200 {
		for j, v := range values[i] {
			if v < 0 {
				negAt[j] = true
			}
		}
	}
	require.Greater(t, len(negAt), 1, "negative values always sit in one place")

	t.Run("odd number of cuts", func(t *testing.T) {
		odd := cuts[:3]
		ys, err := center.BlindSigns(enc, odd)
		require.NoError(t, err)
		require.Len(t, ys, 2)
		pos := make([]int, len(z))
		for _, y := range ys {
			share, err := bank.DecryptShare(y)
			require.NoError(t, err)
			c, err := center.DecryptComplex(y, share)
			require.NoError(t, err)
			for i := range z {
				for _, v := range []float64{real(c[i]), imag(c[i])} {
					if v > 0 {
						pos[i]++
					}
				}
			}
		}
		for i := range z {
			require.Equal(t, band(z[i], odd), pos[i], "record %d: the spare place counts as a cut above", i)
		}
	})

	for _, bad := range [][]float64{nil, {1, 0}, {0, 0}, {math.NaN()}, {MaxBlindInput}} {
		_, err := center.BlindSigns(enc, bad)
		require.ErrorIs(t, err, ErrBlindRange, "cuts %v", bad)
	}
}

// TestScoreNoise measures the noise of the scoring pipeline's decrypted
// vectors (pairs combined, then blinded) against Linear14's noise bound,
// which the flooding of the decryption shares is sized for.
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
	run := func() ([]*Vector, *Vector) {
		xs := make([]*Vector, terms)
		for k := range xs {
			var err error
			xs[k], err = center.EncryptComplexAt(as[k], bs[k], 3)
			require.NoError(t, err)
		}
		z, err := bank.CombinePairs(xs, re, im, nil)
		require.NoError(t, err)
		ys, err := center.blindSigns(z, []float64{-1, 0, 1}, [32]byte{9})
		require.NoError(t, err)
		return ys, z
	}
	ys1, z1 := run()
	ys2, z2 := run()
	limit := Linear14.LogNoiseBound
	zNoise := noiseLog2(t, bank, center, z1, z2)
	worst := 0.0
	for j := range ys1 {
		worst = math.Max(worst, noiseLog2(t, bank, center, ys1[j], ys2[j]))
	}
	t.Logf("noise: combined scores 2^%.1f, blinded 2^%.1f, bound 2^%.0f", zNoise, worst, limit)
	require.Less(t, zNoise, limit)
	require.Less(t, worst, limit)
}
