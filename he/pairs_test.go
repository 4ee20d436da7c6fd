package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPairs pairs the chunks of a vector two per ciphertext and separates
// them again, under encryption and on shares; RealParts drops imaginary
// garbage. An odd chunk count leaves the last pair with a real part only.
func TestPairs(t *testing.T) {
	bank, center := pairFor(t, Shared15, KeySpec{Conjugate: true, GaloisLevel: Shared15.DecryptLevel + 1})
	p := bank.Params()
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{100, p.Slots() + 7, 2*p.Slots() + 500} {
		vals := randVec(r, n, 3)
		v, err := bank.EncryptAt(vals, p.set.DecryptLevel)
		require.NoError(t, err)
		pair, err := bank.PairChunks(v)
		require.NoError(t, err)
		require.Len(t, pair.Cts, (len(v.Cts)+1)/2)
		require.Equal(t, p.PairedLen(n), pair.Len)

		// Under encryption (the conjugation key): each value doubled.
		back, err := center.UnpairChunks(pair, n)
		require.NoError(t, err)
		got := openDecode(t, center, bank, back)
		for i := range vals {
			require.InDelta(t, 2*vals[i], got[i], 1e-9, "n %d value %d", n, i)
		}

		// On shares: the pairs opened, each party unpairs its share.
		msg, mask, err := center.OpenToPeer(pair, 180)
		require.NoError(t, err)
		share, err := bank.ReceiveOpened(msg)
		require.NoError(t, err)
		mu, err := p.UnpairShares(mask, n)
		require.NoError(t, err)
		su, err := p.UnpairShares(share, n)
		require.NoError(t, err)
		got, err = p.DecodeShares(mu, su)
		require.NoError(t, err)
		require.InDeltaSlice(t, vals, got, 1e-9, "n %d", n)
		_, err = p.UnpairShares(mask, n+p.Slots())
		require.ErrorIs(t, err, ErrShares)
	}

	// A SlotReal vector with imaginary garbage: pair j=0 read as real.
	a, b := randVec(r, p.Slots(), 2), randVec(r, p.Slots(), 2)
	v, err := bank.EncryptAt(append(a, b...), p.set.DecryptLevel)
	require.NoError(t, err)
	pair, err := bank.PairChunks(v)
	require.NoError(t, err)
	garbled := &Vector{Layout: SlotReal, Len: p.Slots(), Cts: pair.Cts}
	require.NoError(t, bank.RealParts(garbled))
	got := openDecode(t, bank, center, garbled)
	for i := range a {
		require.InDelta(t, 2*a[i], got[i], 1e-9)
	}

	// Without the key: refused.
	plain, _ := sharedPair(t)
	v, err = plain.EncryptAt(a, p.set.DecryptLevel)
	require.NoError(t, err)
	require.Error(t, plain.RealParts(v))
}
