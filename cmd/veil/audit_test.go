package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-fl/veil/node/audit"
)

// writeAuditLog writes a small log: an open record, a session of bank-a
// (begin, one step, its record) and one of bank-b.
func writeAuditLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	l, err := audit.Open(path, audit.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	grad := audit.Disclosure{To: "bank-a", Step: "vlr.center-gradient", What: "LR gradient of the center's 10 columns", Count: 30, Values: 300, Shape: []int{10}, Masked: true}
	for _, p := range []audit.Payload{
		audit.Begin{ID: "s1", Peer: audit.Peer{Name: "bank-a"}, Protocol: "vlr", Model: "sme-credit", Table: "enterprises"},
		audit.Step{Session: "s1", Disclosures: []audit.Disclosure{grad}},
		audit.Session{Begin: audit.Begin{ID: "s1", Peer: audit.Peer{Name: "bank-a"}, Protocol: "vlr", Model: "sme-credit", Table: "enterprises"},
			Rows: 1000, Disclosures: []audit.Disclosure{grad}, BytesSent: 5000, BytesReceived: 7000, Duration: time.Minute, Outcome: audit.OutcomeOK},
		audit.Session{Begin: audit.Begin{ID: "s2", Peer: audit.Peer{Name: "bank-b"}, Protocol: "score"},
			Disclosures: []audit.Disclosure{{To: "bank-b", Step: "score.bands", What: "each record's band among 4 cuts", Count: 18000, Values: 18000}},
			Outcome:     audit.OutcomeOK},
	} {
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuditVerify: veil audit verify passes on an untouched log and fails
// (exit 1) on a copy with one byte altered, naming its line; -head finds
// records cut from the tail.
func TestAuditVerify(t *testing.T) {
	path := writeAuditLog(t)
	code, out, errs := veil(context.Background(), "audit", "verify", path)
	if code != exitOK || !strings.HasPrefix(out, "ok "+path+": 5 records") {
		t.Fatalf("untouched log: exit %d, %q %q", code, out, errs)
	}
	head := strings.Fields(out)[len(strings.Fields(out))-1]

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for _, tc := range []struct {
		name, want string
		edit       func() []byte
	}{
		{"a digit of line 3", "line 3", func() []byte {
			b := bytes.Clone(data)
			i := bytes.Index(b, []byte(`"count":30`)) + len(`"count":3`)
			b[i] = '1' // 30 -> 31 vectors, in the step record (line 3)
			return b
		}},
		{"line 2 removed", "line 2", func() []byte { return bytes.Join([][]byte{lines[0], lines[2], lines[3], lines[4]}, nil) }},
		{"lines 3 and 4 swapped", "line 3", func() []byte { return bytes.Join([][]byte{lines[0], lines[1], lines[3], lines[2], lines[4]}, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(bad, tc.edit(), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := veil(context.Background(), "audit", "verify", bad)
			if code != exitError || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q: want exit 1 naming %s", code, out, errs, tc.want)
			}
		})
	}

	cut := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(cut, bytes.Join(lines[:4], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := veil(context.Background(), "audit", "verify", cut); code != exitOK {
		t.Errorf("a log cut at a line boundary verifies alone: exit %d %s", code, errs)
	}
	if code, _, errs := veil(context.Background(), "audit", "verify", cut, "-head", head); code != exitError || !strings.Contains(errs, "cut from the tail") {
		t.Errorf("against the head kept apart: exit %d %s", code, errs)
	}
	if code, _, errs := veil(context.Background(), "audit", "verify", "-head", head, path); code != exitOK {
		t.Errorf("flags before FILE: exit %d %s", code, errs)
	}
}

// TestAuditReport: the report's table per bank and period, filtered by
// bank and time; usage errors exit 2.
func TestAuditReport(t *testing.T) {
	path := writeAuditLog(t)
	code, out, errs := veil(context.Background(), "audit", "report", path, "-per", "all")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"BANK", "bank-a", "LR gradient of the center's 10 columns (masked shares)", "30", "bank-b", "18,000"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = veil(context.Background(), "audit", "report", path, "-bank", "bank-b", "-since", "2026-12-07", "-per", "month")
	if strings.Contains(out, "bank-a") || !strings.Contains(out, "2026-12") || !strings.Contains(out, "bank-b") {
		t.Errorf("-bank bank-b -per month:\n%s", out)
	}
	_, out, _ = veil(context.Background(), "audit", "report", path, "-until", "2026-12-06")
	if !strings.Contains(out, "(no sessions)") {
		t.Errorf("-until before the log:\n%s", out)
	}
	for _, args := range [][]string{
		{"audit"}, {"audit", "sign"}, {"audit", "verify"}, {"audit", "report", path, "-per", "week"},
		{"audit", "report", path, "-since", "yesterday"}, {"audit", "verify", path, "extra"},
	} {
		if code, _, errs := veil(context.Background(), args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}
