package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
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

// histPolyRef is the direct construction of the kernel's polynomial: the 0/1
// coefficients written in Montgomery form, then lattigo's NTT.
func histPolyRef(p *Party, rq *ring.Ring, spec HistogramSpec, f, start, end, S int) ring.Poly {
	poly := rq.NewPoly()
	N := p.params.N()
	ones := newMontOnes(rq)
	for j := start; j < end; j++ {
		off := j - start
		for b := int(spec.Bins[f][j]); b < spec.K; b++ {
			pos := b
			if spec.Perm != nil {
				pos = spec.Perm[f][b]
			}
			for l := range poly.Coeffs {
				if e := S*pos - off; e >= 0 {
					poly.Coeffs[l][e] = ones.one[l]
				} else {
					poly.Coeffs[l][N+e] = ones.minusOne[l]
				}
			}
		}
	}
	rq.NTT(poly, poly)
	return poly
}

// The kernel's structured transform equals lattigo's NTT of the polynomial,
// and its 128-bit accumulation equals lattigo's Montgomery products, value
// for value, for several bin counts, permutations, partial chunks and groups
// long enough to fold.
func TestHistogramKernelExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := center.Params()
	for _, c := range []struct {
		K, n int
		perm bool
	}{{32, 40 * 256, false}, {32, 300, true}, {20, 1000, false}, {256, 100, true}, {2, 5000, false}, {1, 50, false}} {
		S := HistogramChunk(p, c.K)
		spec := HistogramSpec{Bins: randBins(r, 2, c.n, c.K, 0.1), K: c.K}
		if c.perm {
			spec.Perm = [][]int{r.Perm(c.K), r.Perm(c.K)}
		}
		level := p.set.DecryptLevel
		rq := p.ckks.RingQ().AtLevel(level)
		kern := newHistKernel(rq, c.K, S)
		ones := newMontOnes(rq)
		idx := make([]uint16, S)
		for f := range spec.Bins {
			tab := kern.table(ones, nil)
			if c.perm {
				tab = kern.table(ones, spec.Perm[f])
			}
			for start := 0; start < c.n; start += S {
				end := min(start+S, c.n)
				got := rq.NewPoly()
				kern.chunkIndex(idx, spec.Bins[f], start, end)
				kern.poly(tab, idx, got)
				require.True(t, rq.Equal(got, histPolyRef(center, rq, spec, f, start, end, S)), "K=%d f=%d chunk at %d", c.K, f, start)
			}
		}

		g, err := bank.EncryptCoeffs(randVec(r, c.n, 1), S)
		require.NoError(t, err)
		groups := []int{0, c.n}
		if c.n > 2*S {
			groups = []int{0, S, c.n}
		}
		sparse := center.histSparse([]*Vector{g}, spec, groups, nil, level)
		for gi := 0; gi+1 < len(groups); gi++ {
			for f := range spec.Bins {
				want := [2]ring.Poly{rq.NewPoly(), rq.NewPoly()}
				for start := groups[gi]; start < groups[gi+1]; start += S {
					pt := histPolyRef(center, rq, spec, f, start, min(start+S, groups[gi+1]), S)
					for comp := range want {
						rq.MulCoeffsMontgomeryThenAdd(g.Cts[start/S].Value[comp], pt, want[comp])
					}
				}
				ct := sparse[gi*len(spec.Bins)+f]
				for comp := range want {
					require.True(t, rq.Equal(ct.Value[comp], want[comp]), "K=%d group %d feature %d", c.K, gi, f)
				}
			}
		}
		// A plan caching one of the two features gives the same products.
		plan, err := center.PrepareHistograms(spec, c.n, int64(16*p.N()*((c.n+S-1)/S)))
		require.NoError(t, err)
		require.NotNil(t, plan.polys[0])
		require.Nil(t, plan.polys[1])
		planned := center.histSparse([]*Vector{g}, spec, []int{0, c.n}, plan, level)
		direct := center.histSparse([]*Vector{g}, spec, []int{0, c.n}, nil, level)
		for i := range direct {
			for comp := 0; comp < 2; comp++ {
				require.True(t, rq.Equal(planned[i].Value[comp], direct[i].Value[comp]))
			}
		}
	}
}
