package psi

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkUnbalancedSession times a later session of an epoch (the bank's
// cache current, the center's set synced) for 20,000 bank ids against
// 80,000 of the center's, a tenth of the sizes: what a session costs
// per bank id. cpu-µs/id counts both parties' CPU time.
func BenchmarkUnbalancedSession(b *testing.B) {
	const nBank, nCenter = 20_000, 80_000
	centerIDs := make([]string, nCenter)
	for i := range centerIDs {
		centerIDs[i] = fmt.Sprintf("91210200%010d", i)
	}
	bankIDs := make([]string, nBank)
	for i := range bankIDs {
		bankIDs[i] = fmt.Sprintf("91210200%010d", nCenter-nBank/2+i)
	}
	ctx := context.Background()
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, time.Now(), nil)
	if err != nil {
		b.Fatal(err)
	}
	cache := NewCache("c", "b")
	if err := cache.Apply(ctx, set.UpdateFor(nil)); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if _, err := set.Sync(ctx, centerIDs); err != nil {
			b.Fatal(err)
		}
		if err := cache.Apply(ctx, set.UpdateFor(cache.State())); err != nil {
			b.Fatal(err)
		}
		q, err := NewQuery(bankIDs, nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := q.Blind(ctx)
		if err != nil {
			b.Fatal(err)
		}
		r, err := set.Reblind(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		res, err := q.Finish(ctx, r, cache)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := set.Match(res.Slots, nBank); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*nBank), "cpu-µs/id")
}
