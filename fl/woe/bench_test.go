package woe

import "testing"

// BenchmarkWOE30k is one federated WOE/IV exchange, key generation
// included, for 30,000 rows and 10 center columns of 32 quantile bins (the
// shape of default_credit's center).
func BenchmarkWOE30k(b *testing.B) {
	xb, xc, y := synthetic(30_000, 1, 10, 9)
	for b.Loop() {
		bank, _, err, cerr := runPair(b, xb, 1, xc, 10, y, nil, Options{})
		if err != nil || cerr != nil {
			b.Fatal(err, cerr)
		}
		b.ReportMetric(float64(bank.Stats.SentBytes)/(1<<20), "MiB-bank-sent")
		b.ReportMetric(float64(bank.Stats.RecvBytes)/(1<<20), "MiB-bank-recv")
	}
}
