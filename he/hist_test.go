package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// histPlain is the float64 reference: cumulative bin sums per group and feature.
func histPlain(vals []float64, spec HistogramSpec, groups []int) []float64 {
	F := len(spec.Bins)
	out := make([]float64, (len(groups)-1)*F*spec.K)
	for g := 0; g+1 < len(groups); g++ {
		for f := 0; f < F; f++ {
			base := (g*F + f) * spec.K
			for j := groups[g]; j < groups[g+1]; j++ {
				for b := int(spec.Bins[f][j]); b < spec.K; b++ {
					pos := b
					if spec.Perm != nil {
						pos = spec.Perm[f][b]
					}
					out[base+pos] += vals[j]
				}
			}
		}
	}
	return out
}

func randBins(r *rand.Rand, F, n, K int, missing float64) [][]uint8 {
	bins := make([][]uint8, F)
	for f := range bins {
		bins[f] = make([]uint8, n)
		for j := range bins[f] {
			if r.Float64() < missing {
				bins[f][j] = 255
			} else {
				bins[f][j] = uint8(r.IntN(K))
			}
		}
	}
	return bins
}

func TestHistograms(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	S := HistogramChunk(bank.Params(), 32)
	cases := []struct {
		name   string
		n, F   int
		K      int
		groups func(n int) []int
		perm   bool
	}{
		{"100k x 30 x 32, one node", 100_000, 30, 32, nil, false},
		{"3 nodes, shuffled bins", 5*S + 17, 7, 32, func(n int) []int { return []int{0, 2 * S, 3 * S, n} }, true},
		{"K=20 (not a power of two)", 1000, 3, 20, nil, false},
		{"one feature", 300, 1, 32, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := HistogramSpec{Bins: randBins(r, c.F, c.n, c.K, 0.05), K: c.K}
			groups := []int{0, c.n}
			if c.groups != nil {
				groups = c.groups(c.n)
				spec.Groups = groups
			}
			if c.perm {
				for f := 0; f < c.F; f++ {
					spec.Perm = append(spec.Perm, r.Perm(c.K))
				}
			}
			g := randVec(r, c.n, 1)
			enc, err := bank.EncryptCoeffs(g, HistogramChunk(bank.Params(), c.K))
			require.NoError(t, err)
			hs, err := center.Histograms([]*Vector{enc}, spec)
			require.NoError(t, err)
			h := hs[0]
			share, err := center.DecryptShare(h)
			require.NoError(t, err)
			got, err := bank.Decrypt(h, share)
			require.NoError(t, err)
			want := histPlain(g, spec, groups)
			require.Len(t, got, len(want))
			rel := maxAbsErr(got, want) / maxAbs(want)
			t.Logf("max abs error %.2e, relative %.2e (max |sum| %.1f)", maxAbsErr(got, want), rel, maxAbs(want))
			require.Less(t, rel, 1e-6)

			enc2, err := bank.EncryptCoeffs(g, HistogramChunk(bank.Params(), c.K))
			require.NoError(t, err)
			hs2, err := center.Histograms([]*Vector{enc2}, spec)
			require.NoError(t, err)
			noise := noiseLog2(t, bank, center, h, hs2[0])
			t.Logf("ciphertext noise 2^%.1f, bound 2^%.0f", noise, Hist13.LogNoiseBound)
			require.Less(t, noise, Hist13.LogNoiseBound)
		})
	}
}

// A plan gives the same histograms as the on-the-fly kernel, whether it
// caches every feature or, over its memory budget, only some.
func TestHistogramPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	const n, F, K = 3000, 5, 32
	spec := HistogramSpec{Bins: randBins(r, F, n, K, 0.05), K: K}
	for f := 0; f < F; f++ {
		spec.Perm = append(spec.Perm, r.Perm(K))
	}
	g := randVec(r, n, 1)
	enc, err := bank.EncryptCoeffs(g, HistogramChunk(bank.Params(), K))
	require.NoError(t, err)
	want := histPlain(g, spec, []int{0, n})
	chunks := (n + HistogramChunk(bank.Params(), K) - 1) / HistogramChunk(bank.Params(), K)
	perFeature := int64(chunks * 2 * 8 * bank.Params().N())
	for _, budget := range []int64{1 << 40, 2 * perFeature, 0} {
		plan, err := center.PrepareHistograms(spec, n, budget)
		require.NoError(t, err)
		require.Equal(t, min(budget, F*perFeature), plan.Bytes())
		hs, err := center.HistogramsPlanned([]*Vector{enc}, plan)
		require.NoError(t, err)
		share, err := center.DecryptShare(hs[0])
		require.NoError(t, err)
		got, err := bank.Decrypt(hs[0], share)
		require.NoError(t, err)
		require.Less(t, maxAbsErr(got, want)/maxAbs(want), 1e-6)
	}
	_, err = center.PrepareHistograms(HistogramSpec{Bins: spec.Bins, K: K, Groups: []int{0, n}}, n, 0)
	require.Error(t, err)
}
