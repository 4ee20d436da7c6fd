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
	bank, center := pairFor(t, Shared15, KeySpec{ConjugateAtTop: true, GaloisLevel: Shared15.DecryptLevel + 1})
	p := bank.Params()
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{100, p.Slots() + 7, 2*p.Slots() + 500}
	if testing.Short() {
		sizes = sizes[2:] // the race pass: the odd count of chunks
	}
	for _, n := range sizes {
		vals := randVec(r, n, 3)
		v, err := bank.EncryptAt(vals, p.set.DecryptLevel)
		require.NoError(t, err)
		pair, err := bank.PairChunks(v)
		require.NoError(t, err)
		require.Len(t, pair.Cts, (len(v.Cts)+1)/2)
		require.Equal(t, p.PairedLen(n), pair.Len)

		// Under encryption (the conjugation key), doubled at twice the scale.
		back, err := center.UnpairChunks(pair, n)
		require.NoError(t, err)
		require.Equal(t, 2*v.Cts[0].Scale.Float64(), back.Cts[0].Scale.Float64())
		got := openDecode(t, center, bank, back)
		require.InDeltaSlice(t, vals, got, 1e-9, "n %d", n)

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

		// Pairing shares and joining them at the top, then separating by a
		// conjugation key at the top: the sigmoid's input, in half the
		// encrypted shares.
		ps, err := p.PairShares(su)
		require.NoError(t, err)
		pm, err := p.PairShares(mu)
		require.NoError(t, err)
		top, err := center.EncryptShares(pm, p.MaxLevel())
		require.NoError(t, err)
		joined, err := bank.JoinShares(top, ps)
		require.NoError(t, err)
		sep, err := bank.UnpairChunks(joined, n)
		require.NoError(t, err)
		require.Equal(t, p.MaxLevel(), sep.Level())
		got = openDecode(t, bank, center, sep)
		require.InDeltaSlice(t, vals, got, 1e-9, "n %d", n)
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
