package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reportLog writes sessions of two banks over two days, one of them never
// ended (with step records), and returns the verified records.
func reportLog(t *testing.T) []Record {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	now := t0
	l, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	bands := Disclosure{To: "bank-a", Step: "score.bands", What: "bands", Count: 18000, Values: 18000, Shape: []int{5}}
	hist := Disclosure{To: "bank-b", Step: "boost.histograms", What: "cumulative histograms over 10 center features x 32 bins", Count: 212, Values: 212 * 320, Shape: []int{10, 32}}
	failed := session("a2", "bank-a")
	failed.Outcome, failed.Error = OutcomeError, "fl: peer aborted: bank-a: out of memory"
	for _, step := range []struct {
		at time.Time
		p  Payload
	}{
		{t0, session("a1", "bank-a", gradient("bank-a", 30), bands)},
		{t0.Add(time.Hour), failed},
		{t0.Add(2 * time.Hour), session("b1", "bank-b", hist)},
		{t0.Add(24 * time.Hour), session("a3", "bank-a", gradient("bank-a", 30))},
		{t0.Add(25 * time.Hour), begin("b2", "bank-b")},
		{t0.Add(26 * time.Hour), Step{Session: "b2", Disclosures: []Disclosure{hist}}},
	} {
		now = step.at
		if _, err := l.Append(step.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	recs, _, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSummarize(t *testing.T) {
	recs := reportLog(t)
	hist := Disclosure{To: "bank-b", Step: "boost.histograms", What: "cumulative histograms over 10 center features x 32 bins", Count: 212, Values: 212 * 320, Shape: []int{10, 32}}
	bands := Disclosure{To: "bank-a", Step: "score.bands", What: "bands", Count: 18000, Values: 18000, Shape: []int{5}}
	const sent, recv = 123456789, 98765
	tests := []struct {
		name string
		opt  ReportOptions
		want []ReportRow
	}{
		{"per day", ReportOptions{}, []ReportRow{
			{Bank: "bank-a", Period: "2026-12-07", Sessions: 2, Failed: 1, BytesSent: 2 * sent, BytesReceived: 2 * recv, Disclosure: bands},
			{Bank: "bank-a", Period: "2026-12-07", Sessions: 2, Failed: 1, BytesSent: 2 * sent, BytesReceived: 2 * recv, Disclosure: gradient("bank-a", 30)},
			{Bank: "bank-a", Period: "2026-12-08", Sessions: 1, BytesSent: sent, BytesReceived: recv, Disclosure: gradient("bank-a", 30)},
			{Bank: "bank-b", Period: "2026-12-07", Sessions: 1, BytesSent: sent, BytesReceived: recv, Disclosure: hist},
			{Bank: "bank-b", Period: "2026-12-08", Sessions: 1, Failed: 1, Unfinished: 1, Disclosure: hist},
		}},
		{"bank-a, all time", ReportOptions{Bank: "bank-a", Per: PerAll}, []ReportRow{
			{Bank: "bank-a", Period: "all", Sessions: 3, Failed: 1, BytesSent: 3 * sent, BytesReceived: 3 * recv, Disclosure: bands},
			{Bank: "bank-a", Period: "all", Sessions: 3, Failed: 1, BytesSent: 3 * sent, BytesReceived: 3 * recv, Disclosure: gradient("bank-a", 60)},
		}},
		{"since the second day, per month", ReportOptions{Since: t0.Add(24 * time.Hour), Per: PerMonth}, []ReportRow{
			{Bank: "bank-a", Period: "2026-12", Sessions: 1, BytesSent: sent, BytesReceived: recv, Disclosure: gradient("bank-a", 30)},
			{Bank: "bank-b", Period: "2026-12", Sessions: 1, Failed: 1, Unfinished: 1, Disclosure: hist},
		}},
		{"until an hour in: one session, no disclosure kept out", ReportOptions{Until: t0.Add(time.Hour + time.Second), Bank: "bank-a"}, []ReportRow{
			{Bank: "bank-a", Period: "2026-12-07", Sessions: 2, Failed: 1, BytesSent: 2 * sent, BytesReceived: 2 * recv, Disclosure: bands},
			{Bank: "bank-a", Period: "2026-12-07", Sessions: 2, Failed: 1, BytesSent: 2 * sent, BytesReceived: 2 * recv, Disclosure: gradient("bank-a", 30)},
		}},
		{"a bank with no sessions", ReportOptions{Bank: "bank-z"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Summarize(recs, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Summarize:\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	if _, err := Summarize(recs, ReportOptions{Per: "week"}); err == nil {
		t.Error("period week accepted")
	}
}

func TestReportTable(t *testing.T) {
	recs := reportLog(t)
	var b strings.Builder
	if err := Report(&b, recs, ReportOptions{Bank: "bank-b"}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("report has %d lines, want a header and 2 rows:\n%s", len(lines), got)
	}
	for i, want := range [][]string{
		{"BANK", "PERIOD", "SESSIONS", "FAILED", "UNFINISHED", "SENT", "RECEIVED", "TO", "STEP", "WHAT", "SHAPE", "VECTORS", "VALUES"},
		{"bank-b", "2026-12-07", "1", "0", "0", "123,456,789", "98,765", "bank-b", "boost.histograms", "cumulative histograms over 10 center features x 32 bins", "10x32", "212", "67,840"},
		{"bank-b", "2026-12-08", "1", "1", "1", "0", "0", "bank-b", "boost.histograms", "cumulative histograms over 10 center features x 32 bins", "10x32", "212", "67,840"},
	} {
		if cells := strings.Split(strings.Join(strings.Fields(lines[i]), " "), " "); strings.Join(cells, " ") != strings.Join(want, " ") {
			t.Errorf("line %d:\n%s\nwant the cells %q", i+1, lines[i], want)
		}
	}
	b.Reset()
	if err := Report(&b, recs, ReportOptions{Bank: "nobody"}); err != nil || !strings.Contains(b.String(), "(no sessions)") {
		t.Errorf("report of no sessions: %v\n%s", err, b.String())
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-12-07T06:00:00Z", time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), true},
		{"2026-12-07T08:00:00+02:00", time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), true},
		{"2026-12-07", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), true},
		{"2026-12", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"72h", now.Add(-72 * time.Hour), true},
		{"-1h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, now)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
