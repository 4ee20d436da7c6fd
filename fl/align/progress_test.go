package align_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
)

// progressLog records what Options.Progress is told.
type progressLog struct {
	mu    sync.Mutex
	calls []progressCall
}

type progressCall struct {
	step        string
	done, total int
}

func (p *progressLog) progress(step string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, progressCall{step, done, total})
}

// check asserts a complete run of step: first done 0, never back, last
// done == total, total the same throughout.
func (p *progressLog) check(t *testing.T, step string, total int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.calls)
	require.Equal(t, 0, p.calls[0].done, "%v", p.calls)
	for i, c := range p.calls {
		require.Equal(t, step, c.step)
		require.Equal(t, total, c.total)
		if i > 0 {
			require.Greater(t, c.done, p.calls[i-1].done, "%v", p.calls)
		}
	}
	require.Equal(t, total, p.calls[len(p.calls)-1].done, "%v", p.calls)
}

// records parses a JSON handler's output into one map per line.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// checkQuiet asserts that the log names none of ids and carries no field
// but counts and times.
func checkQuiet(t *testing.T, buf *bytes.Buffer, ids ...[]string) {
	t.Helper()
	for _, set := range ids {
		for _, id := range set {
			require.NotContains(t, buf.String(), id)
		}
	}
	for _, r := range records(t, buf) {
		for k := range r {
			require.Contains(t, []string{"time", "level", "msg", "ids", "rows", "seconds"}, k, "log field %q in %v", k, r)
		}
	}
}

func testIDs(prefix string, n, from int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-ent-%05d", prefix, from+i)
	}
	return ids
}

// Both parties' progress counts the phases 0..Phases, with or without the
// hook before the reveal (which reorders the center's messages), and their
// logs have a start and an end line naming no id of either party.
func TestAlignProgressAndLog(t *testing.T) {
	// Both sides hold "both-ent-*"; each also holds ids of its own.
	shared := testIDs("both", 40, 0)
	bankIDs := append(testIDs("bankonly", 25, 0), shared...)
	centerIDs := append(testIDs("centeronly", 30, 0), shared...)
	for _, hook := range []bool{false, true} {
		t.Run(fmt.Sprintf("hook=%v", hook), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			var bankProg, centerProg progressLog
			var bankLog, centerLog bytes.Buffer
			debug := &slog.HandlerOptions{Level: slog.LevelDebug}
			bo := align.Options{Progress: bankProg.progress, Logger: slog.New(slog.NewJSONHandler(&bankLog, debug))}
			co := align.Options{Progress: centerProg.progress, Logger: slog.New(slog.NewJSONHandler(&centerLog, debug))}
			if hook {
				co.BeforeReveal = func(rows []int) error { return nil }
			}
			bt, ct := fl.NewPipe()
			defer bt.Close()
			defer ct.Close()
			done := make(chan error, 1)
			go func() {
				_, err := align.AlignWith(ctx, ct, centerIDs, co)
				done <- err
			}()
			res, err := align.AlignWith(ctx, bt, bankIDs, bo)
			require.NoError(t, err)
			require.NoError(t, <-done)
			require.Len(t, res.Rows, len(shared))

			bankProg.check(t, align.StepAlign, align.Phases)
			centerProg.check(t, align.StepAlign, align.Phases)
			for _, buf := range []*bytes.Buffer{&bankLog, &centerLog} {
				var msgs []string
				for _, r := range records(t, buf) {
					msgs = append(msgs, r["msg"].(string))
				}
				require.Equal(t, []string{"align: start", "align: done"}, msgs)
				require.Contains(t, buf.String(), `"rows":40`)
				checkQuiet(t, buf, bankIDs, centerIDs)
			}
		})
	}
}

// A failed alignment stops short of the last phase and logs its failure
// without the error's text, which names the party's rows; the caller's
// error keeps it.
func TestAlignFailureLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	bankIDs := append(testIDs("bank", 5, 0), "bank-ent-00003") // rows 3 and 5 repeat
	var prog progressLog
	var buf bytes.Buffer
	o := align.Options{Progress: prog.progress, Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	bt, ct := fl.NewPipe()
	defer bt.Close()
	defer ct.Close()
	done := make(chan error, 1)
	go func() {
		_, err := align.Align(ctx, ct, testIDs("center", 5, 0))
		done <- err
	}()
	_, err := align.AlignWith(ctx, bt, bankIDs, o)
	require.ErrorContains(t, err, "rows 3 and 5")
	require.Error(t, <-done)

	prog.mu.Lock()
	require.Equal(t, []progressCall{{align.StepAlign, 0, align.Phases}}, prog.calls)
	prog.mu.Unlock()
	var msgs []string
	for _, r := range records(t, &buf) {
		msgs = append(msgs, r["msg"].(string))
	}
	require.Equal(t, []string{"align: start", "align: failed"}, msgs)
	require.NotContains(t, buf.String(), "rows 3 and 5")
	checkQuiet(t, &buf, bankIDs)
}
