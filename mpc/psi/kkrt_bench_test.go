package psi

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkKKRT1M runs the whole KKRT protocol for two parties with
// 1,000,000 ids each, half of them shared, both in one process. Run it with
// -bench KKRT1M -benchtime 1x.
func BenchmarkKKRT1M(b *testing.B) { benchKKRT(b, 1_000_000) }

// BenchmarkKKRT100k is the same at 100,000 ids each.
func BenchmarkKKRT100k(b *testing.B) { benchKKRT(b, 100_000) }

func benchKKRT(b *testing.B, n int) {
	idsS := make([]string, n)
	idsR := make([]string, n)
	for i := range n {
		idsS[i] = fmt.Sprintf("91210200%010d", i)
		idsR[i] = fmt.Sprintf("91210200%010d", i+n/2)
	}
	ctx := context.Background()
	cpu0 := cpuTime()
	var steps [6]time.Duration
	var sentS, sentR int
	b.ResetTimer()
	for range b.N {
		s, err := NewKKRTSender(idsS, nil)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewKKRTReceiver(idsR, nil)
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		lap := func(i int) { now := time.Now(); steps[i] += now.Sub(t); t = now }
		m1, err := s.Hello(ctx)
		must(b, err)
		m2, err := r.Setup(ctx, m1)
		must(b, err)
		lap(0)
		m3, err := s.Base(ctx, m2)
		must(b, err)
		lap(1)
		m4, err := r.Codes(ctx, m3)
		must(b, err)
		lap(2)
		m5, err := s.Encode(ctx, m4)
		must(b, err)
		lap(3)
		m6, err := r.Match(ctx, m5)
		must(b, err)
		lap(4)
		res, err := s.Finish(ctx, m6)
		must(b, err)
		lap(5)
		if len(res.Rows) != n/2 {
			b.Fatalf("%d shared ids, want %d", len(res.Rows), n/2)
		}
		sentS = m1.Size() + m3.Size() + m5.Size()
		sentR = m2.Size() + m4.Size() + m6.Size()
	}
	b.StopTimer()
	for i, name := range []string{"hello-setup", "base", "codes", "encode", "match", "finish"} {
		b.ReportMetric(steps[i].Seconds()/float64(b.N), name+"-s")
	}
	b.ReportMetric(float64(sentS)/1e6, "sender-MB")
	b.ReportMetric(float64(sentR)/1e6, "receiver-MB")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s")
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
