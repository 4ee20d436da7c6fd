package boost

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// BenchmarkTree100kx30x300d5 times federated SecureBoost trees of depth 5 on
// 100,000 rows with 30 bank and 300 center columns, 32 bins, both parties in
// this process over the in-memory transport: per-tree seconds after the
// setup (key generation, binning, the root plan), derived from runs of 1 and
// 1+b.N trees.
func BenchmarkTree100kx30x300d5(b *testing.B) {
	const db, dc = 30, 300
	xb, xc, y := benchData(100_000, db, dc, 1)
	run := func(trees int) (time.Duration, *ActiveResult) {
		ta, tc := fl.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx := context.Background()
		seed := []byte("boost-bench-joint-seed-0123456789")
		done := make(chan error, 1)
		go func() {
			_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
			done <- err
		}()
		var first time.Time
		ar, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, Options{GBDTOptions: model.GBDTOptions{Trees: trees, MaxDepth: 5}},
			func(tree int) {
				if tree == 0 {
					first = time.Now()
				}
			})
		if err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return time.Since(first), ar
	}
	b.ResetTimer()
	rest, ar := run(1 + b.N)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(rest.Seconds()/float64(b.N), "s/tree")
	b.ReportMetric(float64(ar.Stats.SentBytes+ar.Stats.RecvBytes)/float64(1+b.N)/(1<<20), "MiB/tree")
	b.ReportMetric(float64(ms.Sys)/(1<<30), "GiB-sys")
}

// BenchmarkMemory1Mx50x50 trains one depth-3 tree on 1,000,000 rows with 50
// bank and 50 center columns and reports the Go runtime's peak memory for
// both parties together in one process; BenchmarkMemory1Mx50x50Processes
// measures each party's peak in its own process.
func BenchmarkMemory1Mx50x50(b *testing.B) {
	const db, dc = 50, 50
	xb, xc, y := benchData(1_000_000, db, dc, 2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ta, tc := fl.NewPipe()
		ctx := context.Background()
		seed := []byte("boost-bench-joint-seed-0123456789")
		done := make(chan error, 1)
		go func() {
			_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
			done <- err
		}()
		if _, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 3}}, nil); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		ta.Close()
		tc.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<30), "GiB-sys")
}

// benchData returns normal columns for both parties and labels drawn from a
// logistic model with an interaction across the parties.
func benchData(n, db, dc int, seed uint64) (xb, xc, y []float64) {
	r := rand.New(rand.NewPCG(seed, seed))
	xb, xc, y = make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := range xb {
		xb[i] = r.NormFloat64()
	}
	for i := range xc {
		xc[i] = r.NormFloat64()
	}
	for i := range y {
		if z := xb[i*db] - xc[i*dc] + 0.5*xc[i*dc+1]*xb[i*db+1]; r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return xb, xc, y
}
