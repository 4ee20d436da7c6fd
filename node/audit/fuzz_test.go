package audit

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// seedLog is a small valid log for the fuzzers' corpus.
func seedLog(f *testing.F) []byte {
	f.Helper()
	dir := f.TempDir()
	l, err := Open(dir+"/audit.jsonl", Options{Now: stepClock(t0)})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []Payload{
		begin("s1", "bank-a"),
		Step{Session: "s1", Disclosures: []Disclosure{gradient("bank-a", 3)}},
		session("s1", "bank-a", gradient("bank-a", 3)),
	} {
		if _, err := l.Append(p); err != nil {
			f.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(dir + "/audit.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzVerify: Verify and Read never panic on any file, fail with a
// *LineError (never another error for an in-memory reader), and a file
// they accept is exactly what encode writes for its records.
func FuzzVerify(f *testing.F) {
	data := seedLog(f)
	f.Add(data)
	f.Add(data[:len(data)-1])
	f.Add([]byte{})
	f.Add([]byte("\n"))
	f.Add(bytes.Repeat([]byte("{"), 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		head, err := Verify(bytes.NewReader(data))
		recs, head2, err2 := Read(bytes.NewReader(data))
		if (err == nil) != (err2 == nil) || head != head2 {
			t.Fatalf("Verify (%+v, %v) and Read (%+v, %v) disagree", head, err, head2, err2)
		}
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("Verify: %v, want a *LineError naming a line", err)
			}
			return
		}
		var again []byte
		for _, r := range recs {
			line, h, err := encode(r)
			if err != nil {
				t.Fatal(err)
			}
			if h != r.Hash {
				t.Fatalf("record %d: hash %s, re-encoded %s", r.Seq, r.Hash, h)
			}
			again = append(again, line...)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("an accepted file is not what its records encode to:\n%q\n%q", data, again)
		}
	})
}

// FuzzDecodeLine: the line decoder never panics, and a line it accepts
// re-encodes to itself.
func FuzzDecodeLine(f *testing.F) {
	for _, line := range bytes.Split(seedLog(f), []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"seq":1,"hash":"` + Genesis + `"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := decodeLine(line)
		if err != nil {
			return
		}
		again, _, err := encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, append(bytes.Clone(line), '\n')) {
			t.Fatalf("accepted line %q re-encodes to %q", line, again)
		}
	})
}
