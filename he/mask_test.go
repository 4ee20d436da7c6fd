package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMaskCoeffs(t *testing.T) {
	bank, center := pairFor(t, Hist13, KeySpec{})
	vals := make([]float64, 2*bank.Params().N()+5)
	for i := range vals {
		vals[i] = float64(i%100) / 10
	}
	v, err := bank.EncryptCoeffs(vals, bank.Params().N())
	require.NoError(t, err)
	require.NoError(t, bank.MaskCoeffs(v, func(i int) bool { return i%3 == 0 }))
	share, err := bank.DecryptShare(v)
	require.NoError(t, err)
	got, err := center.Decrypt(v, share)
	require.NoError(t, err)
	hidden := 0
	for i := range vals {
		if i%3 == 0 {
			require.InDelta(t, vals[i], got[i], 1e-4, "revealed value %d", i)
		} else if math.Abs(got[i]-vals[i]) > 1 {
			hidden++
		}
	}
	// A uniform value modulo Q lands within 1 of the truth with probability 2^-78.
	require.Equal(t, len(vals)-(len(vals)+2)/3, hidden)
	require.Error(t, bank.MaskCoeffs(&Vector{Layout: SlotReal}, func(int) bool { return true }))
}

// TestRerandomize: the values stay and both components change. (Without
// it, a plaintext addition leaves c1 as the peer encrypted it and c0 off by
// exactly the encoded plaintext: see TestScoresHideBankPart in fl/score.)
func TestRerandomize(t *testing.T) {
	for _, s := range ParamSets {
		bank, center := pairFor(t, s, KeySpec{})
		r := rand.New(rand.NewPCG(11, 12))
		vals := randVec(r, 100, 4)
		v, err := bank.Encrypt(vals)
		if s.ID == Hist13.ID { // its values sit in coefficients
			v, err = bank.EncryptCoeffs(vals, 64)
		}
		require.NoError(t, err)
		c0, c1 := *v.Cts[0].Value[0].CopyNew(), *v.Cts[0].Value[1].CopyNew()
		require.NoError(t, center.Rerandomize(v))
		require.False(t, c0.Equal(&v.Cts[0].Value[0]))
		require.False(t, c1.Equal(&v.Cts[0].Value[1]))
		share, err := center.DecryptShare(v)
		require.NoError(t, err)
		got, err := bank.Decrypt(v, share)
		require.NoError(t, err)
		require.Less(t, maxAbsErr(got, vals), max(1e-5, floodTol(s)), s.ID)
	}
}

// AddCoeffs adds plaintext values to a histogram's bin sums, value for
// value, in the grid layout.
func TestAddCoeffs(t *testing.T) {
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	r := rand.New(rand.NewPCG(9, 9))
	n, K := 3000, 16
	spec := HistogramSpec{Bins: randBins(r, 3, n, K, 0.05), K: K}
	enc, err := bank.EncryptCoeffs(randVec(r, n, 1), HistogramChunk(bank.Params(), K, 3, n))
	require.NoError(t, err)
	hs, err := center.Histograms([]*Vector{enc}, spec)
	require.NoError(t, err)
	h := hs[0]
	share, err := center.DecryptShare(h)
	require.NoError(t, err)
	before, err := bank.Decrypt(h, share)
	require.NoError(t, err)
	add := randVec(r, h.Len, 100)
	require.NoError(t, center.AddCoeffs(h, add))
	share, err = center.DecryptShare(h)
	require.NoError(t, err)
	after, err := bank.Decrypt(h, share)
	require.NoError(t, err)
	for i := range after {
		require.InDelta(t, before[i]+add[i], after[i], 1e-3, "value %d", i)
	}
	require.ErrorIs(t, center.AddCoeffs(h, add[1:]), ErrShape)
}
