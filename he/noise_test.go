package he

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// noiseLog2 measures the ciphertext noise that joint decryption must flood:
// v1 and v2 are the results of the same computation on two encryptions of
// the same input, so their decryptions (with both key shares and no flooding,
// possible only in a test, where both shares live in one process) differ
// exactly by the difference of their noises. It returns log2 of the largest
// coefficient of that difference, less half a bit for the two noises.
func noiseLog2(t *testing.T, a, b *Party, v1, v2 *Vector) float64 {
	t.Helper()
	require.Equal(t, len(v1.Cts), len(v2.Cts))
	worst := 0.0
	for i := range v1.Cts {
		c1, c2 := v1.Cts[i], v2.Cts[i]
		require.Equal(t, c1.Level(), c2.Level())
		rq := a.params.ckks.RingQ().AtLevel(c1.Level())
		dec := func(ct *ringPolys) ring.Poly {
			pt := rq.NewPoly()
			rq.MulCoeffsMontgomery(ct.c1, a.sk.Value.Q, pt)
			rq.MulCoeffsMontgomeryThenAdd(ct.c1, b.sk.Value.Q, pt)
			rq.Add(pt, ct.c0, pt)
			return pt
		}
		d := dec(&ringPolys{c1.Value[0], c1.Value[1]})
		rq.Sub(d, dec(&ringPolys{c2.Value[0], c2.Value[1]}), d)
		rq.INTT(d, d)
		coeffs := make([]*big.Int, rq.N())
		for i := range coeffs {
			coeffs[i] = new(big.Int)
		}
		rq.PolyToBigintCentered(d, 1, coeffs)
		for _, c := range coeffs {
			f, _ := new(big.Float).SetInt(c).Float64()
			worst = math.Max(worst, math.Abs(f))
		}
	}
	return math.Log2(worst) - 0.5
}

type ringPolys struct{ c0, c1 ring.Poly }

// TestHistNoiseBound: the analytic bound of the histogram noise at the
// set's limits (MaxRows per group, any number of bins, 2^30 decrypted
// coefficients) is within Hist13's LogNoiseBound, which sizes its flooding;
// and the noise measured on the kernel's worst chunk (8 bins: the most
// rounds of packing) stays below the analytic bound for the rows used,
// up to 2^20 rows (the limit) without -short.
func TestHistNoiseBound(t *testing.T) {
	p := MustParams(Hist13)
	limit := HistNoiseBound(p, Hist13.MaxRows)
	t.Logf("hist13: analytic noise bound 2^%.2f at %d rows, declared 2^%.1f, flooding 2^%.1f", limit, Hist13.MaxRows, Hist13.LogNoiseBound, Hist13.LogFlood())
	require.LessOrEqual(t, limit, Hist13.LogNoiseBound)
	require.Greater(t, limit, Hist13.LogNoiseBound-1, "the declared bound is the analytic one, rounded up")

	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	r := rand.New(rand.NewPCG(7, 7))
	cases := []struct{ rows, K int }{{20_000, 8}, {20_000, 256}}
	if !testing.Short() {
		cases = append(cases, struct{ rows, K int }{Hist13.MaxRows, 8})
	}
	for _, c := range cases {
		spec := HistogramSpec{Bins: randBins(r, 1, c.rows, c.K, 0.05), K: c.K}
		chunk := HistogramChunk(p, c.K, 1, c.rows)
		g := randVec(r, c.rows, 1)
		var hs [2]*Vector
		for i := range hs {
			sv, err := bank.EncryptCoeffsSeeded(g, chunk)
			require.NoError(t, err)
			v, err := center.Join(sv)
			require.NoError(t, err)
			out, err := center.Histograms([]*Vector{v}, spec)
			require.NoError(t, err)
			require.NoError(t, center.Rerandomize(out[0]))
			hs[i] = out[0]
		}
		noise := noiseLog2(t, bank, center, hs[0], hs[1])
		bound := HistNoiseBound(p, c.rows)
		t.Logf("%d rows, %d bins, chunk %d: measured noise 2^%.1f, analytic bound 2^%.1f (sigma 2^%.1f)",
			c.rows, c.K, chunk, noise, bound, math.Log2(histNoiseSigma(p, c.rows, chunk)))
		require.Less(t, noise, bound)
	}
}

// A histogram group over the set's row limit is refused: the noise bound
// and the flooding would not hold for it.
func TestHistogramRowLimit(t *testing.T) {
	s := Hist13
	s.MaxRows = 1000
	bank, center := pairFor(t, s, KeySpec{Pack: true})
	p := bank.Params()
	spec := HistogramSpec{Bins: randBins(rand.New(rand.NewPCG(1, 1)), 1, 1001, 8, 0), K: 8}
	v, err := bank.EncryptCoeffs(make([]float64, 1001), HistogramChunk(p, 8, 1, 1001))
	require.NoError(t, err)
	_, err = center.Histograms([]*Vector{v}, spec)
	require.ErrorIs(t, err, ErrLimit)
	require.ErrorContains(t, err, "1001 rows, over the 1000")
}
