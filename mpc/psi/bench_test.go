package psi

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"testing"
	"time"

	"github.com/cloudflare/circl/group"
	"github.com/gtank/ristretto255"
)

// BenchmarkPSI1M runs the whole protocol for two parties with 1,000,000 ids
// each, half of them shared: 2M hashes and 4M scalar multiplications. Run it
// with -bench PSI1M -benchtime 1x -timeout 30m.
func BenchmarkPSI1M(b *testing.B) { benchPSI(b, 1_000_000) }

// BenchmarkPSI100k is the same at 100,000 ids each.
func BenchmarkPSI100k(b *testing.B) { benchPSI(b, 100_000) }

func benchPSI(b *testing.B, n int) {
	// Ids look like 18-character unified social credit codes; half are shared.
	idsA := make([]string, n)
	idsB := make([]string, n)
	for i := range n {
		idsA[i] = fmt.Sprintf("91210200%010d", i)
		idsB[i] = fmt.Sprintf("91210200%010d", i+n/2)
	}
	ctx := context.Background()
	var blind, exchange, finish time.Duration
	var sent int
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		a, err := NewParty(idsA, nil)
		if err != nil {
			b.Fatal(err)
		}
		c, err := NewParty(idsB, nil)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		a1, err := a.Blind(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c1, err := c.Blind(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		a1w, sentA1 := wireBench(b, a1)
		c1w, _ := wireBench(b, c1)
		a2, err := a.Exchange(ctx, c1w)
		if err != nil {
			b.Fatal(err)
		}
		c2, err := c.Exchange(ctx, a1w)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		a2w, sentA2 := wireBench(b, a2)
		c2w, _ := wireBench(b, c2)
		resA, err := a.Finish(ctx, c2w)
		if err != nil {
			b.Fatal(err)
		}
		resC, err := c.Finish(ctx, a2w)
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if len(resA.Rows) != n-n/2 || resA.Digest != resC.Digest {
			b.Fatalf("intersection of %d rows, want %d", len(resA.Rows), n-n/2)
		}
		blind += t1.Sub(t0)
		exchange += t2.Sub(t1)
		finish += t3.Sub(t2)
		sent = sentA1 + sentA2
	}
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/run")
	b.ReportMetric(float64(2*n)/sec, "ids/s")
	b.ReportMetric(float64(sent), "bytes/party")
	b.ReportMetric(cpu, "cpu-s/run")
	b.ReportMetric(blind.Seconds()/float64(b.N), "blind-s")
	b.ReportMetric(exchange.Seconds()/float64(b.N), "exchange-s")
	b.ReportMetric(finish.Seconds()/float64(b.N), "finish-s")
}

// wireBench moves m through its encoding and returns the bytes it took.
func wireBench(b *testing.B, m *Message) (*Message, int) {
	enc, err := m.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	var got Message
	if err := got.UnmarshalBinary(enc); err != nil {
		b.Fatal(err)
	}
	return &got, len(enc)
}

// BenchmarkGroupOps measures one core's cost of each group operation PSI
// needs, with the library used here (gtank) and with circl.
func BenchmarkGroupOps(b *testing.B) {
	id := "912102000000123456"
	b.Run("gtank/hash", func(b *testing.B) {
		var e ristretto255.Element
		for b.Loop() {
			hashToElement(&e, id)
		}
	})
	var seed [64]byte
	rand.Read(seed[:])
	k := ristretto255.NewScalar().FromUniformBytes(seed[:])
	var p, q ristretto255.Element
	hashToElement(&p, id)
	enc := p.Encode(nil)
	b.Run("gtank/mul", func(b *testing.B) {
		for b.Loop() {
			q.ScalarMult(k, &p)
		}
	})
	b.Run("gtank/mul-vartime", func(b *testing.B) {
		zero := ristretto255.NewScalar()
		for b.Loop() {
			q.VarTimeDoubleScalarBaseMult(k, &p, zero)
		}
	})
	b.Run("gtank/encode", func(b *testing.B) {
		buf := make([]byte, 0, PointSize)
		for b.Loop() {
			buf = p.Encode(buf[:0])
		}
	})
	b.Run("gtank/decode", func(b *testing.B) {
		for b.Loop() {
			if err := q.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})

	g := group.Ristretto255
	dst := []byte(hashDST)
	b.Run("circl/hash", func(b *testing.B) {
		for b.Loop() {
			g.HashToElement([]byte(id), dst)
		}
	})
	cp := g.HashToElement([]byte(id), dst)
	ck := g.HashToScalar(seed[:], dst)
	cq := g.NewElement()
	b.Run("circl/mul", func(b *testing.B) {
		for b.Loop() {
			cq.Mul(cp, ck)
		}
	})
	b.Run("circl/encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := cp.MarshalBinaryCompress(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("circl/decode", func(b *testing.B) {
		for b.Loop() {
			if err := cq.UnmarshalBinary(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha512", func(b *testing.B) {
		for b.Loop() {
			sha512.Sum512([]byte(id))
		}
	})
}
