package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestPackMatchesLattigo: the packing whose rounds run on all cores gives
// lattigo's Evaluator.Pack to the bit, for dense and sparse batches, with
// pairs whose first or second ciphertext is absent.
func TestPackMatchesLattigo(t *testing.T) {
	bank, _ := pairFor(t, Hist13, KeySpec{Pack: true})
	r := rand.New(rand.NewPCG(5, 6))
	N := bank.params.N()
	cases := map[string]struct {
		logGap int
		keys   []int
	}{
		"dense 8":           {3, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		"first half absent": {3, []int{4, 5, 6}},
		"spread of 1024":    {10, []int{0, 512, 256, 768, 128, 640, 384}},
		"one and a stray":   {4, []int{3, 15}},
	}
	if !testing.Short() {
		keys := make([]int, 300)
		for i := range keys {
			keys[i] = gridOffset(1024, 300, i)
		}
		cases["grid of 300 in 1024"] = struct {
			logGap int
			keys   []int
		}{10, keys}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ours, theirs := map[int]*rlwe.Ciphertext{}, map[int]*rlwe.Ciphertext{}
			for _, k := range c.keys {
				v, err := bank.EncryptCoeffs(randVec(r, N, 1), N)
				require.NoError(t, err)
				ours[k], theirs[k] = v.Cts[0], v.Cts[0].CopyNew()
			}
			got, err := bank.pack(ours, c.logGap)
			require.NoError(t, err)
			want, err := bank.evaluator.ShallowCopy().Evaluator.Pack(theirs, c.logGap, true)
			require.NoError(t, err)
			require.True(t, got.Value[0].Equal(&want.Value[0]) && got.Value[1].Equal(&want.Value[1]), "packing differs from lattigo's")
		})
	}
	v, err := bank.EncryptCoeffs([]float64{1}, N)
	require.NoError(t, err)
	_, err = bank.pack(map[int]*rlwe.Ciphertext{0: v.Cts[0], 9: v.Cts[0]}, 3)
	require.ErrorContains(t, err, "offset 9 outside [0, 8)")
}

// BenchmarkPack: one histogram packing of 300 sparse products into a
// stride of 1,024 (a parted level's output), lattigo's sequential Pack
// against the one whose rounds use every core.
func BenchmarkPack(b *testing.B) {
	bank, _ := pairFor(b, Hist13, KeySpec{Pack: true})
	N := bank.params.N()
	v, err := bank.EncryptCoeffs(randVec(rand.New(rand.NewPCG(7, 8)), N, 1), N)
	require.NoError(b, err)
	batch := func() map[int]*rlwe.Ciphertext {
		m := map[int]*rlwe.Ciphertext{}
		for i := range 300 {
			m[gridOffset(1024, 300, i)] = v.Cts[0].CopyNew()
		}
		return m
	}
	b.Run("lattigo", func(b *testing.B) {
		for b.Loop() {
			if _, err := bank.evaluator.Evaluator.Pack(batch(), 10, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for b.Loop() {
			if _, err := bank.pack(batch(), 10); err != nil {
				b.Fatal(err)
			}
		}
	})
}
