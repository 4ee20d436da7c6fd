package ot

import (
	"testing"
)

// BenchmarkExtend: both sides of a batch of 2^20 random OTs.
func BenchmarkExtend(b *testing.B) {
	c, o := pair(b)
	const n = 1 << 20
	b.SetBytes(int64(extensionBytes(n)))
	for b.Loop() {
		_, u, err := c.Extend(n, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Extend(n, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "OTs/s")
}

// BenchmarkChoose16: 2^16 1-out-of-16 OTs of 8-bit messages, both sides.
func BenchmarkChoose16(b *testing.B) {
	c, o := pair(b)
	const n, k, w = 1 << 16, 4, 8
	cb, ob := extend(b, c, o, n*k, nil)
	choice := func(i int) uint { return uint(i) & 15 }
	for b.Loop() {
		d, err := cb.Derandomize(0, n, k, choice)
		if err != nil {
			b.Fatal(err)
		}
		y, err := ob.Offer(0, n, k, w, d, func(i int, x uint) uint64 { return uint64(x) })
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cb.Receive(0, n, k, w, choice, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "OTs/s")
}

func BenchmarkSetup(b *testing.B) {
	for b.Loop() {
		pair(b)
	}
}
