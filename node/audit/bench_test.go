package audit

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkAppend appends session records (write + fsync each) to a file
// in the test's temporary directory: the cost a session pays before its
// result is released.
func BenchmarkAppend(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "audit.jsonl"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := session("s", "bank-a", gradient("bank-a", 30), Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 30, Values: 30})
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.ID = fmt.Sprint(i)
		if _, err := l.Append(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkVerify verifies a log of 10,000 session records (what Open
// does on a restart, and `veil audit verify`).
func BenchmarkVerify(b *testing.B) {
	var buf bytes.Buffer
	s := session("s", "bank-a", gradient("bank-a", 30), Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 30, Values: 30})
	c := newChain()
	for i := range 10000 {
		s.ID = fmt.Sprint(i)
		r := Record{Seq: c.head.Seq + 1, Prev: c.head.Hash, Time: t0, Type: TypeSession}
		if i == 0 {
			r.Type, r.Open = TypeOpen, &Opened{Format: Format}
		} else {
			s := s
			r.Session = &s
		}
		line, h, err := encode(r)
		if err != nil {
			b.Fatal(err)
		}
		r.Hash = h
		c.add(r)
		buf.Write(line)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		head, err := Verify(bytes.NewReader(buf.Bytes()))
		if err != nil || head.Seq != 10000 {
			b.Fatal(head, err)
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
