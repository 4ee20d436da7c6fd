package he

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/veil-fl/veil/internal/testmode"
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

// histInputNoise measures the noise of the histograms of g as the bank
// encrypts it (seeded, in chunks of chunk) and the center joins it, passed
// through wire on the way when wire is not nil: two encryptions of the same
// values, their histograms rerandomized, their noises' difference
// (noiseLog2).
func histInputNoise(t *testing.T, bank, center *Party, g []float64, chunk int, spec HistogramSpec, wire func(*SeededVector) *SeededVector) float64 {
	t.Helper()
	var hs [2]*Vector
	for i := range hs {
		sv, err := bank.EncryptCoeffsSeeded(g, chunk)
		require.NoError(t, err)
		if wire != nil {
			sv = wire(sv)
		}
		v, err := center.Join(sv)
		require.NoError(t, err)
		out, err := center.Histograms([]*Vector{v}, spec)
		require.NoError(t, err)
		require.NoError(t, center.Rerandomize(out[0]))
		hs[i] = out[0]
	}
	return noiseLog2(t, bank, center, hs[0], hs[1])
}

// TestHistNoiseBound: the analytic bound of the histogram noise at the
// set's limits (MaxRows per group, any number of bins, 2^30 decrypted
// coefficients) is within Hist13's LogNoiseBound, which sizes its flooding;
// and the noise measured on the kernel's worst chunk (2 bins: the most
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
	cases := []struct{ rows, K int }{{20_000, 2}, {20_000, 8}, {20_000, 256}}
	if !testing.Short() {
		cases = append(cases, struct{ rows, K int }{Hist13.MaxRows, 2})
	}
	for _, c := range cases {
		spec := HistogramSpec{Bins: randBins(r, 1, c.rows, c.K, 0.05), K: c.K}
		chunk := HistogramChunk(p, c.K, 1, c.rows)
		g := randVec(r, c.rows, 1)
		noise := histInputNoise(t, bank, center, g, chunk, spec, nil)
		bound := HistNoiseBound(p, c.rows)
		t.Logf("%d rows, %d bins, chunk %d: measured noise 2^%.1f, analytic bound 2^%.1f (sigma 2^%.1f)",
			c.rows, c.K, chunk, noise, bound, math.Log2(histNoiseSigma(p, c.rows, chunk, bits.Len(uint(histStride(p, c.K)))-1)))
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

// noiseStats is noiseLog2 with the root mean square over the coefficients
// too: log2 of the largest coefficient of the difference of two runs'
// noises and of its root mean square, each less half a bit for the two
// noises.
func noiseStats(t *testing.T, a, b *Party, v1, v2 *Vector) (largest, rms float64) {
	t.Helper()
	require.Equal(t, len(v1.Cts), len(v2.Cts))
	var sum2 float64
	n := 0
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
			largest = math.Max(largest, math.Abs(f))
			sum2 += f * f
			n++
		}
	}
	return math.Log2(largest) - 0.5, math.Log2(sum2/float64(n))/2 - 0.5
}

// maxFactor is how many root mean squares the largest of count
// coefficients of sub-Gaussian noise may reach, except with probability
// 2^-30: the measured largest coefficient is held to the bound times it.
func maxFactor(count int) float64 {
	return math.Log2(math.Sqrt(2 * (math.Log(2*float64(count)) + 30*math.Ln2)))
}

// TestLinearNoiseBounds: the analytic bounds of Linear14's kernels (root
// mean squares, noise.go) at the limits the protocols enforce hold the
// noise measured on the kernels as the protocols chain them. Scores:
// Linear14's own LogNoiseBound is ScoreNoiseBound at MaxCombineWeight,
// and tree scores are measured with factors at that weight, every slot's
// as large as the largest (the worst case of the bound). Gradients: the
// center's encrypted powers combined with factors of the weight package
// vlr allows, rerandomized, multiplied by X^T with every column's sum of
// squares at vlr's limit, rerandomized; the worst case for the fold is a
// matrix of equal columns, whose result is one constant polynomial. The
// measured largest coefficient stays below the bound times maxFactor, the
// measured root mean square below the bound; 2^20 rows (the rows' limit)
// with VEIL_TEST=full.
func TestLinearNoiseBounds(t *testing.T) {
	p := MustParams(Linear14)
	limit := ScoreNoiseBound(p, Linear14.MaxCombineWeight)
	t.Logf("linear14: scores' bound 2^%.2f at weight %g, declared 2^%.1f, flooding 2^%.1f over 2^%d coefficients",
		limit, Linear14.MaxCombineWeight, Linear14.LogNoiseBound, Linear14.LogFlood(), Linear14.LogMaxDecrypted)
	require.LessOrEqual(t, limit, Linear14.LogNoiseBound)
	require.Greater(t, limit, Linear14.LogNoiseBound-1, "the declared bound is the analytic one, rounded up")
	r := rand.New(rand.NewPCG(11, 12))
	check := func(t *testing.T, name string, bound float64, a, b *Party, v1, v2 *Vector) {
		t.Helper()
		largest, rms := noiseStats(t, a, b, v1, v2)
		count := len(v1.Cts) * p.N()
		t.Logf("%s: noise 2^%.1f largest, 2^%.1f root mean square; bound 2^%.1f (largest of %d: 2^%.1f)",
			name, largest, rms, bound, count, bound+maxFactor(count))
		require.Less(t, rms, bound)
		require.Less(t, largest, bound+maxFactor(count))
	}
	sign := func() float64 { return float64(2*r.IntN(2) - 1) }

	t.Run("scores", func(t *testing.T) {
		bank, center := pairFor(t, Linear14, KeySpec{Conjugate: true})
		n := p.Slots() + 1000
		// Linear: the center's partial scores at the decryption level, the
		// bank's added, rerandomized.
		uc, ub := randVec(r, n, 4), randVec(r, n, 4)
		linear := func() *Vector {
			v, err := center.EncryptAt(uc, Linear14.DecryptLevel)
			require.NoError(t, err)
			require.NoError(t, bank.AddPlain(v, ub))
			require.NoError(t, bank.Rerandomize(v))
			return v
		}
		check(t, "linear scores", ScoreNoiseBound(p, 0), bank, center, linear(), linear())

		// Trees: 8 pairs whose factors weigh 256 in every slot, 2048 in all.
		const terms = 8
		f := math.Sqrt(2*Linear14.MaxCombineWeight/terms) * (1 - 1e-9) // within the limit despite rounding
		as, bs := make([][]float64, terms), make([][]float64, terms)
		re, im := make([][]float64, terms), make([][]float64, terms)
		for k := range terms {
			as[k], bs[k], re[k], im[k] = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range n {
				as[k][i], bs[k][i] = float64(r.IntN(2)), float64(r.IntN(2))
				re[k][i], im[k][i] = f*sign(), f*sign()
			}
		}
		w := CombineWeight(re, im)
		require.InEpsilon(t, Linear14.MaxCombineWeight, w, 1e-6)
		trees := func() *Vector {
			xs := make([]*Vector, terms)
			for k := range xs {
				var err error
				xs[k], err = center.EncryptComplexAt(as[k], bs[k], Linear14.DecryptLevel+1)
				require.NoError(t, err)
			}
			z, err := bank.CombinePairs(xs, re, im, ub)
			require.NoError(t, err)
			bank.DropToDecryptLevel(z)
			require.NoError(t, bank.Rerandomize(z))
			return z
		}
		check(t, "tree scores", ScoreNoiseBound(p, w), bank, center, trees(), trees())

		// One factor more is past the limit: refused, naming the limit only.
		re[0][5] *= 2
		xs := []*Vector{}
		for k := range terms {
			x, err := center.EncryptComplexAt(as[k], bs[k], Linear14.DecryptLevel+1)
			require.NoError(t, err)
			xs = append(xs, x)
		}
		_, err := bank.CombinePairs(xs, re, im, nil)
		require.ErrorIs(t, err, ErrLimit)
		require.ErrorContains(t, err, "MaxCombineWeight")
		require.NotContains(t, err.Error(), fmt.Sprintf("%.4g", CombineWeight(re, im)))
		re[0][5] = math.NaN() // and a factor that is no number
		_, err = bank.CombinePairs(xs, re, im, nil)
		require.ErrorIs(t, err, ErrLimit)
	})

	// The gradient's chain, as package vlr runs it with revealed gradients.
	const weight, meanSquare, degree = 4, 4, 5
	gradient := func(t *testing.T, rows, cols int, x []float64) {
		set := Linear14
		set.MaxCombineWeight = weight
		bank, center := pairFor(t, set, KeySpec{Rotations: XtdRotations(p, rows, cols)})
		squares := 0.0
		for j := range cols {
			s := 0.0
			for i := range rows {
				s += x[i*cols+j] * x[i*cols+j]
			}
			squares = math.Max(squares, s)
		}
		require.LessOrEqual(t, squares, meanSquare*float64(max(rows, 1024)), "the test's matrix is within vlr's limit")
		m, err := bank.PrepareMatrix(x, rows, cols)
		require.NoError(t, err)
		uc := randVec(r, rows, 2)
		co := make([][]float64, degree)
		for k := range co {
			co[k] = make([]float64, rows)
			for i := range co[k] {
				co[k][i] = math.Sqrt(float64(weight)/degree) * sign()
			}
		}
		constant := randVec(r, rows, 1)
		run := func() *Vector {
			powers := make([]*Vector, degree)
			pw := append([]float64(nil), uc...)
			for k := range powers {
				var err error
				powers[k], err = center.Encrypt(pw)
				require.NoError(t, err)
				for i := range pw {
					pw[i] *= uc[i]
				}
			}
			d, err := bank.Combine(powers, co, constant)
			require.NoError(t, err)
			require.NoError(t, bank.Rerandomize(d))
			g, err := bank.MulTransposed(m, d)
			require.NoError(t, err)
			bank.DropToDecryptLevel(g)
			require.NoError(t, bank.Rerandomize(g))
			return g
		}
		bound := XtdNoiseBound(p, rows, cols, meanSquare*float64(max(rows, 1024)), weight)
		check(t, fmt.Sprintf("X^T d, %d x %d", rows, cols), bound, bank, center, run(), run())
	}
	t.Run("gradient, equal columns", func(t *testing.T) {
		const rows, cols = 4096, 2
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = 2 // mean square 4 in every column
		}
		gradient(t, rows, cols, x)
	})
	t.Run("gradient, random columns", func(t *testing.T) {
		const rows, cols = 20_000, 9
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = 2 * sign()
		}
		gradient(t, rows, cols, x)
	})
	t.Run("gradient, the rows' limit", func(t *testing.T) {
		if !testmode.Full() {
			t.Skip("2^20 rows run with VEIL_TEST=full (CI)")
		}
		rows, cols := Linear14.MaxRows, 2
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = 2
		}
		gradient(t, rows, cols, x)
	})

	t.Run("loss sum", func(t *testing.T) {
		set := Linear14
		set.MaxCombineWeight = weight
		bank, center := pairFor(t, set, KeySpec{Rotations: SumRotations(p)})
		const rows = 20_000
		uc := randVec(r, rows, 2)
		co := make([][]float64, degree)
		for k := range co {
			co[k] = make([]float64, rows)
			for i := range co[k] {
				co[k][i] = math.Sqrt(float64(weight)/degree) * sign()
			}
		}
		run := func() *Vector {
			powers := make([]*Vector, degree)
			pw := append([]float64(nil), uc...)
			for k := range powers {
				var err error
				powers[k], err = center.Encrypt(pw)
				require.NoError(t, err)
				for i := range pw {
					pw[i] *= uc[i]
				}
			}
			l, err := bank.Combine(powers, co, nil)
			require.NoError(t, err)
			s, err := bank.SumSlots(l)
			require.NoError(t, err)
			bank.DropToDecryptLevel(s)
			require.NoError(t, bank.Rerandomize(s))
			return s
		}
		chunks := (rows + p.Slots() - 1) / p.Slots()
		check(t, "loss sum", SlotSumNoiseBound(p, rows, chunks, 1, weight), bank, center, run(), run())
	})
}
