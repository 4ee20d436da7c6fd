package compare

import (
	"math/rand/v2"
	"testing"

	"github.com/veil-fl/veil/mpc/ot"
)

// BenchmarkCompare: both sides of a batch of 8192 records with 4 cuts (5
// grades) in one process, and the bytes each way.
func BenchmarkCompare(b *testing.B) {
	c, o, err := ot.Local()
	if err != nil {
		b.Fatal(err)
	}
	const n, cuts = 8192, 4
	r := rand.New(rand.NewPCG(1, 1))
	x, y := make([]uint32, n), make([]uint32, n*cuts)
	for i := range x {
		x[i] = r.Uint32()
	}
	for i := range y {
		y[i] = r.Uint32()
	}
	var tr transcript
	for b.Loop() {
		_, tr = compareLocal(b, c, o, x, y, cuts)
	}
	bytes := 0
	for _, m := range append(tr.toLearner, tr.toHelper...) {
		bytes += len(m)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(bytes)/n, "bytes/record")
}
