package score

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/veil-fl/veil/fl"
)

// benchRun scores n records per iteration over a pipe and reports records/s.
func benchRun(b *testing.B, n int, bank func(context.Context, fl.Transport) error, center func(context.Context, fl.Transport) error) {
	b.ResetTimer()
	for range b.N {
		be, ce, _ := run(nil, bank, center)
		if be != nil || ce != nil {
			b.Fatal(be, ce)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLinear: LR scoring of 2^18 records, partial scores given.
func BenchmarkLinear(b *testing.B) {
	bank, center := parties(b)
	r := rand.New(rand.NewPCG(1, 1))
	n := 1 << 18
	ub, uc := normals(r, n, 2), normals(r, n, 1)
	for _, o := range []Options{{Output: Scores}, {Cuts: LogitCuts(-3, -2, -1, 0)}} {
		o, _ := o.normalize()
		b.Run(o.Output.String(), func(b *testing.B) {
			benchRun(b, n,
				func(ctx context.Context, t fl.Transport) error {
					_, err := LinearActive(ctx, t, bank, ub, o)
					return err
				},
				func(ctx context.Context, t fl.Transport) error { return LinearPassive(ctx, t, center, uc, o) })
		})
	}
}

// BenchmarkTrees50x3: 50 trees of depth 3 on 10 + 10 features, 2^15 records.
func BenchmarkTrees50x3(b *testing.B) {
	bank, center := parties(b)
	const n, db, dc = 1 << 15, 10, 10
	_, am, pm, xb, xc := splitModel(b, n, db, dc, 50, 11)
	b.Logf("%d center splits", len(pm.Splits))
	for _, o := range []Options{{Output: Scores}, {Cuts: LogitCuts(-3, -2, -1, 0)}} {
		o, _ := o.normalize()
		b.Run(o.Output.String(), func(b *testing.B) {
			benchRun(b, n,
				func(ctx context.Context, t fl.Transport) error {
					_, err := TreesActive(ctx, t, bank, am, xb, db, o)
					return err
				},
				func(ctx context.Context, t fl.Transport) error { return TreesPassive(ctx, t, center, pm, xc, dc, o) })
		})
	}
}
