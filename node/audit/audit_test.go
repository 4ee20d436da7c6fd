package audit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

// stepClock returns a clock that advances a second per reading.
func stepClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

var fp = strings.Repeat("ab", 32)

func begin(id, bank string) Begin {
	return Begin{
		ID: id, Peer: Peer{Name: bank, Fingerprint: fp}, Protocol: "vlr", Model: "sme-credit-lr",
		Table: "enterprises", Columns: []string{"tax_paid", "social_insurance", "penalties"}, PeerColumns: 13,
	}
}

func gradient(to string, n int) Disclosure {
	return Disclosure{To: to, Step: "vlr.gradient", What: "LR gradient of its 13 columns", Count: n, Values: int64(13 * n), Shape: []int{13}, Masked: true}
}

func session(id, bank string, ds ...Disclosure) Session {
	return Session{
		Begin: begin(id, bank), Rows: 30000, Disclosures: ds,
		BytesSent: 123456789, BytesReceived: 98765, Duration: 42 * time.Second, Outcome: OutcomeOK,
	}
}

// writeLog writes a log of one session (begin, two steps, end) plus a
// second session's begin and end, and returns the file's path and head.
func writeLog(t *testing.T) (string, Head) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Now: stepClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, p := range []Payload{
		begin("s1", "bank-a"),
		Step{Session: "s1", Disclosures: []Disclosure{gradient("bank-a", 10)}},
		Step{Session: "s1", Disclosures: []Disclosure{gradient("bank-a", 20), {To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 30, Values: 30}}},
		session("s1", "bank-a", gradient("bank-a", 30), Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 30, Values: 30}),
		begin("s2", "bank-b"),
		session("s2", "bank-b"),
	} {
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	return path, l.Head()
}

func verifyFile(t *testing.T, path string) (Head, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Verify(f)
}

func lines(b []byte) [][]byte {
	return bytes.SplitAfter(b, []byte("\n"))
}

func TestChainVerifies(t *testing.T) {
	path, head := writeLog(t)
	got, err := verifyFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if got != head || got.Seq != 7 {
		t.Errorf("Verify's head %+v, the log's %+v (want seq 7)", got, head)
	}
	data, _ := os.ReadFile(path)
	recs, _, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	types := []Type{TypeOpen, TypeBegin, TypeStep, TypeStep, TypeSession, TypeBegin, TypeSession}
	for i, r := range recs {
		if r.Type != types[i] || r.Seq != uint64(i+1) {
			t.Errorf("record %d: %s seq %d, want %s seq %d", i, r.Type, r.Seq, types[i], i+1)
		}
		if want := t0.Add(time.Duration(i+1) * time.Second); !r.Time.Equal(want) {
			t.Errorf("record %d: time %v, want %v", i, r.Time, want)
		}
	}
	want := session("s1", "bank-a", gradient("bank-a", 30), Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 30, Values: 30})
	if !reflect.DeepEqual(*recs[4].Session, want) {
		t.Errorf("session record read back:\n%+v\nwant\n%+v", *recs[4].Session, want)
	}

	// The chain as the package doc states it, recomputed with nothing but
	// string operations and SHA-256 (what a shell script would do).
	suffix := regexp.MustCompile(`,"hash":"([0-9a-f]{64})"}$`)
	prev := hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("veil-fl/veil audit log, format 1")); return s[:] }())
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := suffix.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d does not end with its hash: %s", i+1, line)
		}
		body := suffix.ReplaceAllString(line, "}")
		if sum := sha256.Sum256([]byte(body)); hex.EncodeToString(sum[:]) != m[1] {
			t.Errorf("line %d: hash is not the SHA-256 of the line without it", i+1)
		}
		if !strings.Contains(line, fmt.Sprintf(`{"seq":%d,"prev":"%s",`, i+1, prev)) {
			t.Errorf("line %d does not start with seq %d and the previous hash: %s", i+1, i+1, line)
		}
		prev = m[1]
	}
	if prev != head.Hash {
		t.Errorf("last hash %s, head %s", prev, head.Hash)
	}
}

// lineOf returns the 1-based line holding byte i (a newline belongs to the
// line it ends).
func lineOf(data []byte, i int) int {
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// TestEveryByteAltered alters each byte of a small log in turn and checks
// that Verify fails naming the line that holds it.
func TestEveryByteAltered(t *testing.T) {
	path, _ := writeLog(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flips := []byte{0x01, 0x20, 0x80}
	if testing.Short() {
		flips = flips[:1] // every byte still, one way (the race pass)
	}
	n := 0
	for i := range data {
		for _, flip := range flips {
			bad := bytes.Clone(data)
			bad[i] ^= flip
			_, err := Verify(bytes.NewReader(bad))
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("byte %d ^ %#x (%q): Verify: %v, want a *LineError", i, flip, data[i], err)
			}
			if want := lineOf(data, i); le.Line != want {
				t.Fatalf("byte %d ^ %#x (%q): %v; want line %d named", i, flip, data[i], err, want)
			}
			n++
		}
	}
	t.Logf("%d alterations of %d bytes over %d lines all caught at their line", n, len(data), bytes.Count(data, []byte("\n")))
}

// TestLinesMoved removes, inserts and reorders whole lines.
func TestLinesMoved(t *testing.T) {
	path, head := writeLog(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(data)
	if len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cut := func(from, to int) [][]byte { return ls[from:to] } // 0-based, [from, to)
	cat := func(groups ...[][]byte) []byte {
		var b []byte
		for _, g := range groups {
			b = append(b, join(g...)...)
		}
		return b
	}
	// A well-formed forged record after line 3, chained to line 3, with
	// line 4's number: only the line after it can show it.
	r3, err := decodeLine(bytes.TrimSuffix(ls[2], []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := encode(Record{Seq: 4, Prev: r3.Hash, Time: t0, Type: TypeBegin, Begin: &Begin{ID: "forged", Peer: Peer{Name: "bank-z"}, Protocol: "vlr"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(ls)
	tests := []struct {
		name string
		file []byte
		line int // 0: verifies, but its head is not the log's
	}{
		{"remove first", cat(cut(1, n)), 1},
		{"remove line 3", cat(cut(0, 2), cut(3, n)), 3},
		{"remove the last but one", cat(cut(0, n-2), cut(n-1, n)), n - 1},
		{"remove the last", cat(cut(0, n-1)), 0},
		{"duplicate line 2", cat(cut(0, 2), cut(1, n)), 3},
		{"insert a copy of line 5 after line 2", cat(cut(0, 2), cut(4, 5), cut(2, n)), 3},
		{"swap lines 3 and 4", cat(cut(0, 2), cut(3, 4), cut(2, 3), cut(4, n)), 3},
		{"last line first", cat(cut(n-1, n), cut(0, n-1)), 1},
		{"reverse", cat([][]byte{ls[6], ls[5], ls[4], ls[3], ls[2], ls[1], ls[0]}), 1},
		{"insert a forged record after line 3", cat(cut(0, 3), [][]byte{forged}, cut(3, n)), 5},
		{"an empty line", cat(cut(0, 2), [][]byte{[]byte("\n")}, cut(2, n)), 3},
		{"empty file", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(bytes.NewReader(tc.file))
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got == head {
					t.Fatalf("head %+v equals the full log's: the cut tail is invisible even against an anchored head", got)
				}
				return
			}
			var le *LineError
			if !errors.As(err, &le) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify: %v, want an ErrCorrupt *LineError", err)
			}
			if le.Line != tc.line {
				t.Fatalf("Verify: %v; want line %d named", err, tc.line)
			}
		})
	}
}

// TestRestartContinues reopens a log: the chain continues, the open record
// says so, unfinished sessions are listed, and the whole file verifies.
func TestRestartContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	clock := stepClock(t0)
	l, err := Open(path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open while the first holds the file: %v, want ErrLocked", err)
	}
	for _, p := range []Payload{
		begin("done", "bank-a"),
		begin("killed", "bank-b"),
		Step{Session: "killed", Disclosures: []Disclosure{gradient("bank-b", 4)}},
		session("done", "bank-a"),
		Step{Session: "killed", Disclosures: []Disclosure{gradient("bank-b", 3), {To: "bank-b", Step: "vlr.loss", What: "loss sum", Count: 7, Values: 7}}},
	} {
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(begin("late", "bank-a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}

	l, err = Open(path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	un := l.Unfinished()
	wantUn := []Unfinished{{
		Begin: begin("killed", "bank-b"), Time: t0.Add(3 * time.Second),
		Disclosures: []Disclosure{gradient("bank-b", 7), {To: "bank-b", Step: "vlr.loss", What: "loss sum", Count: 7, Values: 7}},
	}}
	if !reflect.DeepEqual(un, wantUn) {
		t.Errorf("Unfinished:\n%+v\nwant\n%+v", un, wantUn)
	}
	// The node closes it as aborted, and goes on.
	s := Session{Begin: un[0].Begin, Disclosures: un[0].Disclosures, Outcome: OutcomeAborted, Error: "the node restarted during the session"}
	if _, err := l.Append(s); err != nil {
		t.Fatal(err)
	}
	after := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if after.Seq != before.Seq+2 {
		t.Errorf("head after restart %d, want %d (open + session)", after.Seq, before.Seq+2)
	}
	data, _ := os.ReadFile(path)
	recs, head, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if head != after {
		t.Errorf("Verify's head %+v, the log's %+v", head, after)
	}
	o := recs[before.Seq].Open
	if o == nil || !o.Continued || o.Unfinished != 1 || o.Torn != nil || recs[before.Seq].Prev != before.Hash {
		t.Errorf("restart's record %+v (open %+v), want a continued open record chained to %s with 1 unfinished", recs[before.Seq], o, before.Hash)
	}
	l, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if un := l.Unfinished(); len(un) != 0 {
		t.Errorf("after the aborted record, %d unfinished", len(un))
	}
}

// TestConcurrentAppends appends from many goroutines: every record is in
// the file once, and the chain verifies.
func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				var err error
				if i%2 == 0 {
					_, err = l.Append(begin(id, fmt.Sprintf("bank-%d", w)))
				} else {
					_, err = l.Append(session(id, fmt.Sprintf("bank-%d", w), gradient("bank-x", i)))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	head := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	recs, got, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got != head || len(recs) != 1+workers*each {
		t.Fatalf("%d records, head %+v; want %d, %+v", len(recs), got, 1+workers*each, head)
	}
	seen := map[string]int{}
	for _, r := range recs[1:] {
		switch r.Type {
		case TypeBegin:
			seen[r.Begin.ID]++
		case TypeSession:
			seen[r.Session.ID]++
		}
	}
	if len(seen) != workers*each {
		t.Errorf("%d distinct sessions, want %d", len(seen), workers*each)
	}
}

// TestTornTail: a last line without its newline is reported by Verify
// (ErrTorn, naming it), cut by Open and recorded in its open record; the
// file then verifies whole. A damaged line that is not the last is refused.
func TestTornTail(t *testing.T) {
	path, head := writeLog(t)
	data, _ := os.ReadFile(path)
	next, _, err := encode(Record{Seq: head.Seq + 1, Prev: head.Hash, Time: t0, Type: TypeBegin, Begin: &Begin{ID: "s3", Peer: Peer{Name: "bank-a"}, Protocol: "vlr"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, torn := range [][]byte{next[:1], next[:len(next)/2], next[:len(next)-1], []byte("\x00\x00\x00\x00")} {
		t.Run(fmt.Sprintf("%d bytes", len(torn)), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(p, append(bytes.Clone(data), torn...), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := verifyFile(t, p)
			var le *LineError
			if !errors.As(err, &le) || !errors.Is(err, ErrTorn) || le.Line != int(head.Seq)+1 {
				t.Fatalf("Verify of a torn file: %v, want ErrTorn at line %d", err, head.Seq+1)
			}
			l, err := Open(p, Options{Now: stepClock(t0.Add(time.Hour))})
			if err != nil {
				t.Fatalf("Open of a torn file: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if !bytes.HasPrefix(got, data) || bytes.Count(got[len(data):], []byte("\n")) != 1 {
				t.Fatal("the file's records before the torn line changed, or more than the open record follows them")
			}
			recs, _, err := Read(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("after Open cut the torn line: %v", err)
			}
			if len(recs) != int(head.Seq)+1 {
				t.Fatalf("%d records after the repair, want %d", len(recs), head.Seq+1)
			}
			last := recs[len(recs)-1]
			sum := sha256.Sum256(torn)
			want := &Torn{Line: int(head.Seq) + 1, Bytes: len(torn), SHA256: hex.EncodeToString(sum[:])}
			if last.Type != TypeOpen || !reflect.DeepEqual(last.Open.Torn, want) || last.Prev != head.Hash {
				t.Fatalf("last record %+v (torn %+v), want an open record chained to the head, naming %+v", last, last.Open, want)
			}
		})
	}

	t.Run("the first line torn", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(p, data[:40], 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("Open of a file whose first line is torn: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		recs, _, err := Read(bytes.NewReader(got))
		if err != nil || len(recs) != 1 || recs[0].Open.Continued || recs[0].Open.Torn == nil || recs[0].Open.Torn.Line != 1 || recs[0].Open.Torn.Bytes != 40 {
			t.Fatalf("after the repair: %v, records %+v; want one first open record naming torn line 1 of 40 bytes", err, recs)
		}
	})

	t.Run("damaged inside", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.jsonl")
		bad := bytes.Clone(data)
		bad[bytes.Index(bad, []byte(`"s2"`))+1] = 'x'
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(p, Options{})
		var le *LineError
		if !errors.As(err, &le) || !errors.Is(err, ErrCorrupt) || le.Line != 6 {
			t.Fatalf("Open of an altered file: %v, want ErrCorrupt naming line 6", err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, bad) {
			t.Fatal("Open changed a file it refused")
		}
	})
}

// TestAppendRefused: records that break the limits are refused and
// nothing is written.
func TestAppendRefused(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "audit.jsonl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	long := strings.Repeat("x", maxName+1)
	bad := func(f func(*Session)) Session { s := session("s", "bank-a", gradient("bank-a", 1)); f(&s); return s }
	tests := []struct {
		name string
		p    Payload
	}{
		{"no id", Begin{Peer: Peer{Name: "bank-a"}, Protocol: "vlr"}},
		{"no peer", Begin{ID: "s", Protocol: "vlr"}},
		{"no protocol", Begin{ID: "s", Peer: Peer{Name: "bank-a"}}},
		{"bad fingerprint", Begin{ID: "s", Peer: Peer{Name: "bank-a", Fingerprint: "AB"}, Protocol: "vlr"}},
		{"long table", Begin{ID: "s", Peer: Peer{Name: "bank-a"}, Protocol: "vlr", Table: long}},
		{"empty column", Begin{ID: "s", Peer: Peer{Name: "bank-a"}, Protocol: "vlr", Columns: []string{"a", ""}}},
		{"too many columns", Begin{ID: "s", Peer: Peer{Name: "bank-a"}, Protocol: "vlr", Columns: make([]string, maxColumns+1)}},
		{"not UTF-8", Begin{ID: "s\xff", Peer: Peer{Name: "bank-a"}, Protocol: "vlr"}},
		{"negative rows", bad(func(s *Session) { s.Rows = -1 })},
		{"no outcome", bad(func(s *Session) { s.Outcome = "" })},
		{"negative count", bad(func(s *Session) { s.Disclosures[0].Count = -1 })},
		{"negative shape", bad(func(s *Session) { s.Disclosures[0].Shape = []int{-3} })},
		{"no receiver", bad(func(s *Session) { s.Disclosures[0].To = "" })},
		{"step without session", Step{Disclosures: []Disclosure{gradient("bank-a", 1)}}},
	}
	for _, tc := range tests {
		before := l.Head()
		if _, err := l.Append(tc.p); !errors.Is(err, errInvalid) {
			t.Errorf("%s: Append: %v, want an invalid-record error", tc.name, err)
		}
		if l.Head() != before {
			t.Errorf("%s: a refused record was written", tc.name)
		}
	}
	// A long error text is cut, not refused.
	s := session("s", "bank-a")
	s.Outcome, s.Error = OutcomeError, strings.Repeat("é", maxError)
	if _, err := l.Append(s); err != nil {
		t.Fatalf("long error text: %v", err)
	}
}

// TestFailedAppendSticky: after a write fails, the log refuses appends, and
// a reopen finds the file whole.
func TestFailedAppendSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(begin("s1", "bank-a")); err != nil {
		t.Fatal(err)
	}
	_ = l.f.Close() // the disk goes away
	for range 2 {
		if _, err := l.Append(begin("s2", "bank-a")); !errors.Is(err, ErrFailed) {
			t.Fatalf("Append after a failed write: %v, want ErrFailed", err)
		}
	}
	if h, err := verifyFile(t, path); err != nil || h.Seq != 2 {
		t.Fatalf("file after the failure: head %+v, %v; want 2 records verified", h, err)
	}
}

func TestDisclosureWords(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Disclosure{To: "bank-a", Step: "vlr.gradient", What: "LR gradient of its 13 columns", Count: 30}.String(), "to bank-a: 30 x LR gradient of its 13 columns"},
		{Disclosure{To: "bank-a", Step: "score.bands", Count: 18000}.String(), "to bank-a: 18,000 x score.bands"},
		{Disclosure{To: "center", Step: "vlr.gradient", What: "gradient share", Count: 1, Masked: true}.String(), "to center: 1 x gradient share (masked shares)"},
		{session("s", "bank-a",
			Disclosure{To: "bank-a", Step: "vlr.gradient", What: "LR gradient of its 13 columns", Count: 30},
			Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sums", Count: 30},
			Disclosure{To: "center", Step: "vlr.gradient", What: "LR gradient of its 10 columns", Count: 30}).Summary(),
			"to bank-a: 30 x LR gradient of its 13 columns; 30 x loss sums; to center: 30 x LR gradient of its 10 columns"},
		{session("s", "bank-a").Summary(), "nothing disclosed"},
		{Count(0), "0"}, {Count(999), "999"}, {Count(1000), "1,000"}, {Count(1234567), "1,234,567"}, {Count(-12345), "-12,345"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestPeerOf(t *testing.T) {
	if p := PeerOf(nil); p != (Peer{}) {
		t.Errorf("PeerOf(nil) = %+v", p)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bank-a"}, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if p := PeerOf(cert); p.Name != "bank-a" || p.Fingerprint != hex.EncodeToString(sum[:]) || p.validate() != nil {
		t.Errorf("PeerOf = %+v, want bank-a with the SHA-256 of the DER", p)
	}
}

// weakVerify is the chain without each line's own hash: every line's prev
// must be the SHA-256 of the line before (without its hash member), and
// nothing checks the last line. It is the variant TestLastLineNeedsOwnHash
// shows to be too weak.
func weakVerify(data []byte) error {
	suffix := regexp.MustCompile(`,"hash":"[0-9a-f]{64}"}$`)
	prevRe := regexp.MustCompile(`^\{"seq":\d+,"prev":"([0-9a-f]{64})"`)
	prev := Genesis
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := prevRe.FindStringSubmatch(line)
		if m == nil || m[1] != prev {
			return fmt.Errorf("line %d: broken chain", i+1)
		}
		sum := sha256.Sum256([]byte(suffix.ReplaceAllString(line, "}")))
		prev = hex.EncodeToString(sum[:])
	}
	return nil
}

// TestLastLineNeedsOwnHash: an edit of the last record (the most recent
// session's rows and disclosure count) passes a chain of prev links alone,
// since no later line covers it; Verify catches it by the line's own hash.
func TestLastLineNeedsOwnHash(t *testing.T) {
	path, _ := writeLog(t)
	data, _ := os.ReadFile(path)
	if err := weakVerify(data); err != nil {
		t.Fatalf("the weak verifier refuses the honest file: %v", err)
	}
	last := bytes.LastIndex(data[:len(data)-1], []byte("\n")) + 1
	edited := append(bytes.Clone(data[:last]), bytes.Replace(data[last:], []byte(`"rows":30000`), []byte(`"rows":10`), 1)...)
	if bytes.Equal(edited, data) {
		t.Fatal("the edit did not apply")
	}
	if err := weakVerify(edited); err != nil {
		t.Fatalf("the weak verifier caught the last line's edit (%v): the attack this test guards against is gone", err)
	}
	_, err := Verify(bytes.NewReader(edited))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 7 {
		t.Fatalf("Verify of the edited last line: %v, want line 7 named", err)
	}
	// The same edit in a middle line breaks both (the next line's prev).
	mid := bytes.Replace(data, []byte(`"rows":30000`), []byte(`"rows":10`), 1)
	if weakVerify(mid) == nil {
		t.Fatal("the weak verifier missed a middle line's edit")
	}
}
