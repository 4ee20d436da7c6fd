package he

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Benchmarks report per-value and per-(sample, feature) figures with
// b.ReportMetric; run with -bench . -benchtime 3x on the 2-core machine.

func BenchmarkEncryptPerValue(b *testing.B) {
	for _, s := range ParamSets {
		b.Run(s.ID, func(b *testing.B) {
			a, _ := pairFor(b, s, KeySpec{})
			vals := randVec(rand.New(rand.NewPCG(1, 1)), 4*a.Params().Slots(), 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := a.Encrypt(vals); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
		})
	}
}

func BenchmarkMulTransposed100kx300(b *testing.B) {
	const rows, cols = 100_000, 300
	p := MustParams(Linear14)
	center, bank := pairFor(b, Linear14, KeySpec{Rotations: XtdRotations(p, rows, cols)})
	r := rand.New(rand.NewPCG(2, 2))
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	m, err := center.PrepareMatrix(x, rows, cols)
	if err != nil {
		b.Fatal(err)
	}
	d, err := bank.Encrypt(randVec(r, rows, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := center.MulTransposed(m, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*cols), "ns/(sample*feature)")
}

// BenchmarkHistogramLevel100kx30x32 times one SecureBoost level at the root:
// the gradient and hessian histograms of 100,000 samples over 30 features and
// 32 bins. ns/(sample*feature) counts both vectors.
func BenchmarkHistogramLevel100kx30x32(b *testing.B) {
	center, spec, gh := histBenchSetup(b)
	const n, F = 100_000, 30
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := center.Histograms(gh, spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*F), "ns/(sample*feature)")
}

// BenchmarkHistogramLevelPlanned100kx30x32 is the root level with the
// binning's polynomials prepared once per training (HistogramPlan).
func BenchmarkHistogramLevelPlanned100kx30x32(b *testing.B) {
	center, spec, gh := histBenchSetup(b)
	const n, F = 100_000, 30
	plan, err := center.PrepareHistograms(spec, n, 4<<30)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := center.HistogramsPlanned(gh, plan); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*F), "ns/(sample*feature)")
	b.ReportMetric(float64(plan.Bytes())/(1<<20), "plan-MiB")
}

// histBenchSetup returns the center, a 100,000 x 30 x 32 binning and the
// bank's encrypted g and h.
func histBenchSetup(b *testing.B) (*Party, HistogramSpec, []*Vector) {
	const n, F, K = 100_000, 30, 32
	bank, center := pairFor(b, Hist13, KeySpec{Pack: true})
	r := rand.New(rand.NewPCG(3, 3))
	spec := HistogramSpec{Bins: randBins(r, F, n, K, 0.02), K: K}
	var gh []*Vector
	for range 2 {
		v, err := bank.EncryptCoeffs(randVec(r, n, 1), HistogramChunk(bank.Params(), K, F, n))
		if err != nil {
			b.Fatal(err)
		}
		gh = append(gh, v)
	}
	return center, spec, gh
}

// BenchmarkEncryptGradients100k encrypts 100,000 values in histogram chunks
// (32 bins) under the collective public key, and under the sender's key
// share with a seed (plus the receiver's Join).
func BenchmarkEncryptGradients100k(b *testing.B) {
	bank, center := pairFor(b, Hist13, KeySpec{Pack: true})
	vals := randVec(rand.New(rand.NewPCG(1, 1)), 100_000, 1)
	S := HistogramChunk(bank.Params(), 32, 1, 100_000)
	b.Run("public-key", func(b *testing.B) {
		for b.Loop() {
			if _, err := bank.EncryptCoeffs(vals, S); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seeded", func(b *testing.B) {
		for b.Loop() {
			if _, err := bank.EncryptCoeffsSeeded(vals, S); err != nil {
				b.Fatal(err)
			}
		}
	})
	sv, err := bank.EncryptCoeffsSeeded(vals, S)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("join", func(b *testing.B) {
		for b.Loop() {
			if _, err := center.Join(sv); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHistogramsTogether: a default_credit level in the parted layout
// (24,000 rows in 24 chunks of 1,024, 40 kernel features of 8 bins, one
// node), g and h packed apart (one lattigo packing per core) and together
// (one packing whose rounds use both cores).
func BenchmarkHistogramsTogether(b *testing.B) {
	bank, center := pairFor(b, Hist13, KeySpec{Pack: true})
	r := rand.New(rand.NewPCG(3, 4))
	const n, F, K = 24_000, 40, 8
	S := HistogramStride(bank.Params(), K)
	eg, err := bank.EncryptCoeffs(randVec(r, n, 1), S)
	require.NoError(b, err)
	eh, err := bank.EncryptCoeffs(randVec(r, n, 1), S)
	require.NoError(b, err)
	bins := randBins(r, F, n, K, 0.05)
	for _, together := range []bool{false, true} {
		b.Run(fmt.Sprintf("together=%v", together), func(b *testing.B) {
			for b.Loop() {
				if _, err := center.Histograms([]*Vector{eg, eh}, HistogramSpec{Bins: bins, K: K, Together: together}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
