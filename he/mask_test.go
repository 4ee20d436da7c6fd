package he

import (
	"math"
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
