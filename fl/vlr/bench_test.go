package vlr

import (
	"context"
	"testing"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// BenchmarkEpoch100kx30x300 times one full-batch epoch of federated LR on
// 100,000 rows with 30 bank and 300 center columns, both parties in this
// process over the in-memory transport (all encryption, evaluation, and
// decryption; no network), next to one epoch of the plaintext reference on
// the same rows timed in the same run. Setup (key generation, matrix
// preparation) is outside the timing.
func BenchmarkEpoch100kx30x300(b *testing.B) {
	const n, db, dc = 100_000, 30, 300
	xb, xc, y := synthetic(n, db, dc, 3)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	seed := []byte("vlr-bench-joint-seed-0123456789ab")
	opt := Options{Epochs: 1_000}
	var passive *Passive
	ready := make(chan error, 1)
	go func() {
		var err error
		passive, err = NewPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
		ready <- err
	}()
	active, err := NewActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt)
	if err != nil {
		b.Fatal(err)
	}
	if err := <-ready; err != nil {
		b.Fatal(err)
	}
	before := ta.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan error, 1)
		go func() { done <- passive.Epoch(ctx) }()
		if _, err := active.Epoch(ctx); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	fed := b.Elapsed().Seconds() / float64(b.N)
	b.StopTimer()
	after := ta.Stats()
	bytes := float64(after.SentBytes-before.SentBytes+after.RecvBytes-before.RecvBytes) / float64(b.N)

	joined := model.JoinColumns(xb, db, xc, dc)
	t0 := time.Now()
	const plainEpochs = 3
	if _, _, _, err := model.TrainLR(joined, y, db+dc, model.LROptions{Epochs: plainEpochs}); err != nil {
		b.Fatal(err)
	}
	plain := time.Since(t0).Seconds() / plainEpochs
	b.ReportMetric(fed, "s/epoch")
	b.ReportMetric(plain, "plain-s/epoch")
	b.ReportMetric(fed/plain, "fed/plain")
	b.ReportMetric(bytes/n, "bytes/sample")
}
