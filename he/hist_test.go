package he

import (
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/veil-fl/veil/internal/testmode"
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
	S := histStride(bank.Params(), 32) / 2 // every chunk size divides it
	cases := []struct {
		name   string
		n, F   int
		K      int
		groups func(n int) []int
		perm   bool
	}{
		{"100k x 30 x 32, one node", 100_000, 30, 32, nil, false},
		{"3 nodes, shuffled bins", 5*S + 17, 7, 32, func(n int) []int { return []int{0, 2 * S, 3 * S, n} }, true},
		{"3 nodes x 60 features, pairs across nodes", 5000, 60, 64, func(n int) []int { return []int{0, 1024, 3072, n} }, false},
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
			chunk := HistogramChunk(bank.Params(), c.K, c.F*(len(groups)-1), c.n)
			enc, err := bank.EncryptCoeffs(g, chunk)
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
			require.Less(t, maxAbsErr(got, want), floodTol(Hist13))

			enc2, err := bank.EncryptCoeffs(g, chunk)
			require.NoError(t, err)
			hs2, err := center.Histograms([]*Vector{enc2}, spec)
			require.NoError(t, err)
			noise := noiseLog2(t, bank, center, h, hs2[0])
			t.Logf("ciphertext noise 2^%.1f, bound 2^%.0f", noise, Hist13.LogNoiseBound)
			require.Less(t, noise, Hist13.LogNoiseBound)
		})
	}
}

// TestHistogramsTogether: with Together, the histograms of g and h that fit
// in one ciphertext come back as one vector, g's sums then h's, equal to
// the plaintext's within the flooding and with noise within the set's
// bound, also through the partial decryption; inputs too many to fit come
// back one vector each.
func TestHistogramsTogether(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := bank.Params()
	cases := []struct {
		name     string
		n, F, K  int
		groups   []int
		together bool
	}{
		{"parted: 2 nodes x 40 features of 8 bins", 3000, 40, 8, []int{0, 2048, 3000}, true},
		{"whole: 3 nodes x 10 features of 32 bins", 2000, 10, 32, []int{0, 512, 1024, 2000}, true},
		{"too many: 1 node x 70 features of 32 bins", 1500, 70, 32, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := HistogramSpec{Bins: randBins(r, c.F, c.n, c.K, 0.05), K: c.K, Groups: c.groups, Together: true}
			groups := c.groups
			if groups == nil {
				groups = []int{0, c.n}
			}
			entries := c.F * (len(groups) - 1)
			require.Equal(t, c.together, HistogramsTogether(p, c.K, 2, entries))
			chunk := HistogramStride(p, c.K)
			g, h := randVec(r, c.n, 1), randVec(r, c.n, 0.25)
			encrypt := func() []*Vector {
				eg, err := bank.EncryptCoeffs(g, chunk)
				require.NoError(t, err)
				eh, err := bank.EncryptCoeffs(h, chunk)
				require.NoError(t, err)
				return []*Vector{eg, eh}
			}
			hs, err := center.Histograms(encrypt(), spec)
			require.NoError(t, err)
			want := [][]float64{histPlain(g, spec, groups), histPlain(h, spec, groups)}
			if !c.together {
				require.Len(t, hs, 2)
				for i, v := range hs {
					got := decryptFor(t, bank, center, v)
					require.Less(t, maxAbsErr(got, want[i]), floodTol(Hist13))
				}
				return
			}
			require.Len(t, hs, 1)
			v := hs[0]
			require.Len(t, v.Cts, 1)
			require.Equal(t, 2*entries*c.K, v.Len)
			all := append(append([]float64(nil), want[0]...), want[1]...)
			require.Less(t, maxAbsErr(decryptFor(t, bank, center, v), all), floodTol(Hist13))
			share, err := center.DecryptPartialShare(v)
			require.NoError(t, err)
			got, err := bank.DecryptPartial(v, share)
			require.NoError(t, err)
			require.Less(t, maxAbsErr(got, all), floodTol(Hist13))

			again, err := center.Histograms(encrypt(), spec)
			require.NoError(t, err)
			noise := noiseLog2(t, bank, center, v, again[0])
			t.Logf("ciphertext noise 2^%.1f, bound 2^%.1f", noise, Hist13.LogNoiseBound)
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
	chunk := HistogramChunk(bank.Params(), K, F, n)
	enc, err := bank.EncryptCoeffs(g, chunk)
	require.NoError(t, err)
	want := histPlain(g, spec, []int{0, n})
	chunks := (n + chunk - 1) / chunk
	perGroup := int64(chunks * 2 * 8 * bank.Params().N() * histLanes)
	for _, budget := range []int64{1 << 40, perGroup, perGroup - 1, 0} {
		plan, err := center.PrepareHistograms(spec, n, budget)
		require.NoError(t, err)
		require.Equal(t, min(1, budget/perGroup)*perGroup, plan.Bytes())
		hs, err := center.HistogramsPlanned([]*Vector{enc}, plan)
		require.NoError(t, err)
		share, err := center.DecryptShare(hs[0])
		require.NoError(t, err)
		got, err := bank.Decrypt(hs[0], share)
		require.NoError(t, err)
		require.Less(t, maxAbsErr(got, want), floodTol(Hist13))
	}
	_, err = center.PrepareHistograms(HistogramSpec{Bins: spec.Bins, K: K, Groups: []int{0, n}}, n, 0)
	require.Error(t, err)
}

// histPolyRef is the direct construction of the kernel's polynomial for one
// entry of a pair: the 0/1 coefficients of X^(S*b + shift - j) written in
// Montgomery form, then lattigo's NTT.
func histPolyRef(p *Party, rq *ring.Ring, spec HistogramSpec, f, start, end, S, shift int) ring.Poly {
	poly := rq.NewPoly()
	N := p.params.N()
	for j := start; j < end; j++ {
		off := j - start
		for b := int(spec.Bins[f][j]); b < spec.K; b++ {
			pos := b
			if spec.Perm != nil {
				pos = spec.Perm[f][b]
			}
			for l, q := range rq.ModuliChain()[:rq.Level()+1] {
				one := bits.Rem64(1, 0, q) // Montgomery form
				if e := S*pos + shift - off; e >= 0 {
					poly.Coeffs[l][e] = one
				} else {
					poly.Coeffs[l][N+e] = q - one
				}
			}
		}
	}
	rq.NTT(poly, poly)
	return poly
}

// histHasAVX512 is whether this machine runs the AVX-512 leaves
// (kernelPaths switches histAVX512 off to check the Go path too).
var histHasAVX512 = histAVX512

// kernelPaths runs test once with the portable kernel leaves and, where the
// CPU has them, once with the AVX-512 ones.
func kernelPaths(t *testing.T, test func(t *testing.T)) {
	paths := []bool{false}
	if histHasAVX512 {
		paths = append(paths, true)
	}
	saved := histAVX512
	defer func() { histAVX512 = saved }()
	for _, asm := range paths {
		histAVX512 = asm
		t.Run(map[bool]string{false: "go", true: "avx512"}[asm], test)
	}
}

// The kernel's structured transform equals lattigo's NTT of the polynomial,
// and its limb accumulation equals lattigo's Montgomery products, value for
// value, for several bin counts, permutations, partial chunks, partial lane
// groups and groups long enough to fold.
func TestHistogramKernelExact(t *testing.T) {
	kernelPaths(t, testHistogramKernelExact)
}

func testHistogramKernelExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := center.Params()
	for _, c := range []kernelCase{{32, 40 * 128, 21, false}, {32, 300, 3, true}, {20, 1000, 9, false}, {256, 100, 2, true}, {2, 5000, 1, false}, {1, 50, 2, false}, {32, (histFoldEvery + 3) * 128, 1, false}, {256, 600, 10, true}, {64, 2000, 50, false}} {
		if testing.Short() && c.n*c.F > 50_000 {
			continue // the race detector makes the large cases slow
		}
		if !histAVX512 && histHasAVX512 && c.n*c.F > 50_000 && !testmode.Full() {
			continue // the Go path, unused on this machine: its large cases with VEIL_TEST=full
		}
		for _, halves := range []int{1, 2} {
			C := histStride(p, c.K) / halves
			if c.n > histFoldEvery*C/2 && c.n <= histFoldEvery*C {
				continue // the fold case: only the chunk size that folds
			}
			testHistogramKernelCase(t, r, bank, center, c, C)
		}
	}
}

type kernelCase struct {
	K, n, F int
	perm    bool
}

// testHistogramKernelCase checks one case with chunks of C values.
func testHistogramKernelCase(t *testing.T, r *rand.Rand, bank, center *Party, c kernelCase, C int) {
	p := center.Params()
	S := histStride(p, c.K)
	spec := HistogramSpec{Bins: randBins(r, c.F, c.n, c.K, 0.1), K: c.K}
	if c.perm {
		for range c.F {
			spec.Perm = append(spec.Perm, r.Perm(c.K))
		}
	}
	level := p.set.DecryptLevel
	rq := p.ckks.RingQ().AtLevel(level)
	kern := newHistKernel(rq, spec, S, C)
	idx := make([]uint16, S*histLanes)
	y := make([]uint64, S*histLanes)
	// pairRef is the pair's polynomial for the chunk [start, end) of
	// group g: its entries of g only.
	pairRef := func(entry [2]int, g, start, end int) ring.Poly {
		sum := rq.NewPoly()
		for half, e := range entry {
			if e >= 0 && e/c.F == g {
				rq.Add(sum, histPolyRef(center, rq, spec, e%c.F, start, end, S, half*C), sum)
			}
		}
		return sum
	}
	units := histUnits(c.F, c.F, S, C)
	for u := range units {
		un := &units[u]
		tabs := kern.tables(un)
		for start := 0; start < min(c.n, 4*C); start += C {
			end := min(start+C, c.n)
			kern.chunkIndex(idx, tabs, un, 0, start, end)
			var wants [histLanes]ring.Poly
			for lane := 0; lane < histLanes && un.entry[lane][0] >= 0; lane++ {
				wants[lane] = pairRef(un.entry[lane], 0, start, end)
			}
			for l, q := range rq.ModuliChain()[:level+1] {
				for qb := range kern.Kp {
					kern.block(tabs, l, qb, idx, y)
					for lane := 0; lane < histLanes && un.entry[lane][0] >= 0; lane++ {
						for j := range S {
							if v := y[j*histLanes+lane]; v >= 4*q || wants[lane].Coeffs[l][qb*S+j] != v%q {
								t.Fatalf("K=%d pair %v chunk at %d modulus %d coefficient %d: %d, want %d (mod q, below 4q)", c.K, un.entry[lane], start, l, qb*S+j, v, wants[lane].Coeffs[l][qb*S+j])
							}
						}
					}
				}
			}
		}
	}

	g, err := bank.EncryptCoeffs(randVec(r, c.n, 1), C)
	require.NoError(t, err)
	groups := []int{0, c.n}
	switch {
	case c.n > 4*C: // pairs across groups
		groups = []int{0, C, 3 * C, c.n}
	case c.n > 2*C:
		groups = []int{0, C, c.n}
	}
	G := len(groups) - 1
	T := (G*c.F + S - 1) / S
	halves := S / C
	sparse := center.histSparse([]*Vector{g}, spec, groups, nil, level)
	for tk := range T * C {
		entry := [2]int{tk/C*S + tk%C, tk/C*S + C + tk%C}
		if entry[0] >= G*c.F {
			require.Nil(t, sparse[tk])
			continue
		}
		if entry[1] >= G*c.F || halves == 1 {
			entry[1] = -1
		}
		want := [2]ring.Poly{rq.NewPoly(), rq.NewPoly()}
		for gi := range G {
			for start := groups[gi]; start < groups[gi+1]; start += C {
				pt := pairRef(entry, gi, start, min(start+C, groups[gi+1]))
				for comp := range want {
					rq.MulCoeffsMontgomeryThenAdd(g.Cts[start/C].Value[comp], pt, want[comp])
				}
			}
		}
		for comp := range want {
			require.True(t, rq.Equal(sparse[tk].Value[comp], want[comp]), "K=%d pair %v", c.K, entry)
		}
	}
	// A plan caching the first unit gives the same products (the plan
	// picks its own chunk size).
	if C != HistogramChunk(p, c.K, c.F, c.n) {
		return
	}
	chunks := (c.n + C - 1) / C
	plan, err := center.PrepareHistograms(spec, c.n, int64(16*p.N()*histLanes*chunks))
	require.NoError(t, err)
	require.NotNil(t, plan.units[0])
	if len(units) > 1 {
		require.Nil(t, plan.units[1])
	}
	planned := center.histSparse([]*Vector{g}, spec, []int{0, c.n}, plan, level)
	direct := center.histSparse([]*Vector{g}, spec, []int{0, c.n}, nil, level)
	for i := range direct {
		if direct[i] == nil {
			require.Nil(t, planned[i])
			continue
		}
		for comp := 0; comp < 2; comp++ {
			require.True(t, rq.Equal(planned[i].Value[comp], direct[i].Value[comp]))
		}
	}
}

// The AVX-512 leaves compute what the portable ones do: the same butterfly
// outputs bit for bit, and limbs of the same value.
func TestHistogramLeavesAVX512(t *testing.T) {
	if !histAVX512 {
		t.Skip("this CPU has no AVX-512 IFMA: the portable leaves are the only ones")
	}
	r := rand.New(rand.NewPCG(5, 6))
	defer func() { histAVX512 = true }()
	for _, q := range Hist13Moduli(t) {
		for _, h := range []int{1, 2, 4, 64} {
			rows := 4 * h
			y := make([]uint64, rows*histLanes)
			for i := range y {
				y[i] = r.Uint64N(4 * q)
			}
			tw := make([]uint64, 2*rows/(2*h))
			for g := 0; g < len(tw); g += 2 {
				tw[g] = r.Uint64N(q)
				tw[g+1], _ = bits.Div64(tw[g], 0, q)
			}
			want := append([]uint64(nil), y...)
			stage8Go(want, h, tw, q)
			stage8AVX512(&y[0], len(tw)/2, h, &tw[0], q)
			require.Equal(t, want, y, "q=%d h=%d", q, h)
		}
		{
			const rows, entries = 32, 8 * 66
			t1, tw := make([]uint64, entries), make([]uint64, entries)
			for i := range t1 {
				t1[i], tw[i] = r.Uint64N(q), r.Uint64N(q)
			}
			idx := make([]uint16, rows*histLanes)
			for i := range idx {
				idx[i] = uint16(r.IntN(entries))
			}
			want, got := make([]uint64, rows*histLanes), make([]uint64, rows*histLanes)
			histAVX512 = false
			firstStage8(want, idx, t1, tw, 2*q)
			histAVX512 = true
			firstStage8(got, idx, t1, tw, 2*q)
			require.Equal(t, want, got, "first stage, q=%d", q)
		}
		const n = 64
		a, y := make([]uint64, n), make([]uint64, n*histLanes)
		for i := range a {
			a[i] = r.Uint64N(q)
		}
		for i := range y {
			y[i] = r.Uint64N(4 * q)
		}
		accGo, accAsm := make([]uint64, n*histLimbs*histLanes), make([]uint64, n*histLimbs*histLanes)
		for range histFoldEvery {
			macc8Go(accGo, a, y)
			macc8AVX512(&accAsm[0], &a[0], &y[0], n)
		}
		for j := range n {
			for i := range histLanes {
				require.Equal(t, limbValue(accGo, j, i), limbValue(accAsm, j, i), "coefficient %d lane %d", j, i)
			}
		}
		// Four chunks at once, limbs in registers: the same values.
		as, ys := make([][]uint64, histBatch), make([][]uint64, histBatch)
		for d := range as {
			as[d], ys[d] = make([]uint64, n), make([]uint64, n*histLanes)
			for i := range as[d] {
				as[d][i] = r.Uint64N(q)
			}
			for i := range ys[d] {
				ys[d][i] = r.Uint64N(4 * q)
			}
		}
		batchGo, batchAsm := make([]uint64, n*histLimbs*histLanes), make([]uint64, n*histLimbs*histLanes)
		for d := range as {
			macc8Go(batchGo, as[d], ys[d])
		}
		maccBatch(batchAsm, as, ys)
		for j := range n {
			for i := range histLanes {
				require.Equal(t, limbValue(batchGo, j, i), limbValue(batchAsm, j, i), "batch: coefficient %d lane %d", j, i)
			}
		}

		// The reduction of the limbs: both leaves, and the value mod q.
		p := MustParams(Hist13)
		rq := p.ckks.RingQ().AtLevel(Hist13.DecryptLevel)
		kern := newHistKernel(rq, HistogramSpec{Bins: [][]uint8{{0}}, K: 32}, histStride(p, 32), histStride(p, 32))
		l := slices.Index(rq.ModuliChain(), q)
		acc := make([]uint64, kern.N*histLimbs*histLanes)
		for i := range acc {
			acc[i] = r.Uint64()
		}
		tmp := make([]uint64, kern.N*histLanes)
		outs := [2][][]uint64{}
		for path, asm := range []bool{false, true} {
			histAVX512 = asm
			for range histLanes {
				outs[path] = append(outs[path], make([]uint64, kern.N))
			}
			kern.reduce(outs[path], acc, l, tmp)
		}
		require.Equal(t, outs[0], outs[1], "reduction, q=%d", q)
		v := limbValue(acc, 7, 3)
		v.Mul(v, new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), 64), new(big.Int).SetUint64(q)))
		require.Equal(t, v.Mod(v, new(big.Int).SetUint64(q)).Uint64(), outs[1][3][7])

		wantSum := new(big.Int).Mul(new(big.Int).SetUint64(a[3]), new(big.Int).SetUint64(y[3*histLanes+5]))
		wantSum.Mul(wantSum, big.NewInt(histFoldEvery))
		require.Equal(t, wantSum, limbValue(accAsm, 3, 5))
	}
}

func limbValue(acc []uint64, j, lane int) *big.Int {
	v := new(big.Int)
	for limb := histLimbs - 1; limb >= 0; limb-- {
		v.Lsh(v, 52)
		v.Add(v, new(big.Int).SetUint64(acc[(j*histLimbs+limb)*histLanes+lane]))
	}
	return v
}

// Hist13Moduli returns the primes of Hist13 at its decryption level.
func Hist13Moduli(t *testing.T) []uint64 {
	p, err := NewParams(Hist13)
	require.NoError(t, err)
	return p.ckks.RingQ().ModuliChain()[:Hist13.DecryptLevel+1]
}
