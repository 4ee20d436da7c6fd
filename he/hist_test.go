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
