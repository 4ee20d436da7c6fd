package score

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/link"
)

// progressCall is one call of Options.Progress.
type progressCall struct {
	step        string
	done, total int
}

// progressLog records the calls of Options.Progress.
type progressLog struct {
	mu    sync.Mutex
	calls []progressCall
}

func (p *progressLog) progress(step string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, progressCall{step, done, total})
}

// check asserts that the calls are complete runs of steps, in that order:
// each step first with done 0, done rising to its total, which stays the
// same; totals[i] is the total of steps[i].
func (p *progressLog) check(t *testing.T, steps []string, totals []int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var seen []string
	for i, c := range p.calls {
		if i == 0 || c.step != p.calls[i-1].step {
			require.Equal(t, 0, c.done, "%s starts at 0: %v", c.step, p.calls)
			seen = append(seen, c.step)
			require.LessOrEqual(t, len(seen), len(steps), "%v", p.calls)
			require.Equal(t, steps[len(seen)-1], c.step, "%v", p.calls)
		} else {
			require.Greater(t, c.done, p.calls[i-1].done, "%s never goes back: %v", c.step, p.calls)
		}
		require.Equal(t, totals[len(seen)-1], c.total, "%v", c)
		if i+1 == len(p.calls) || p.calls[i+1].step != c.step {
			require.Equal(t, c.total, c.done, "%s ends at its total: %v", c.step, p.calls)
		}
	}
	require.Equal(t, steps, seen)
}

// syncBuffer is a log destination safe for a service's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// records parses a JSON handler's lines, checking that each carries only
// fields of the allowed names (counts, names and times: no values).
func records(t *testing.T, text string, allowed ...string) []map[string]any {
	t.Helper()
	allowed = append(allowed, "time", "level", "msg")
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		for k := range m {
			require.Contains(t, allowed, k, "log field %q in %s", k, line)
		}
		out = append(out, m)
	}
	return out
}

func messages(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r["msg"].(string))
	}
	return out
}

func debugLogger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Both sides of a linear run count its batches 0..3 with scores and with
// bands (the OT loops), and log its start and end with counts, names and
// times only: no field that could carry a score.
func TestLinearProgressAndLog(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(5, 5))
	n := 250 // batches of 100, 100 and 50
	ub, uc := normals(r, n, 2), normals(r, n, 1.5)
	for name, o := range map[string]Options{"scores": {Output: Scores, BatchRows: 100}, "bands": {Cuts: LogitCuts(-1, 0, 1), BatchRows: 100}} {
		t.Run(name, func(t *testing.T) {
			var bp, cp progressLog
			var bl, cl bytes.Buffer
			bo, co := o, o
			bo.Progress, bo.Logger = bp.progress, debugLogger(&bl)
			co.Progress, co.Logger = cp.progress, debugLogger(&cl)
			var res *Result
			be, ce, _ := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = LinearActive(ctx, tr, bank, ub, bo)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, co) })
			require.NoError(t, be)
			require.NoError(t, ce)
			require.NotNil(t, res)
			bp.check(t, []string{StepScore}, []int{3})
			cp.check(t, []string{StepScore}, []int{3})
			for _, text := range []string{bl.String(), cl.String()} {
				recs := records(t, text, "kind", "output", "rows", "batches", "seconds")
				require.Equal(t, []string{"score: start", "score: done"}, messages(recs))
				require.EqualValues(t, n, recs[0]["rows"])
				require.EqualValues(t, 3, recs[0]["batches"])
			}
		})
	}
}

// A bank's session with a Service reports the alignment, the keys and
// the batches to its Progress in turn, and logs each step's start and end;
// the service logs one line when the session starts and one when it ends,
// both with the session's id and the bank's name. No log names an id of
// either party.
func TestServiceProgressAndLog(t *testing.T) {
	f := newServiceFixture(t, 300)
	o := Options{Output: Scores, BatchRows: 100}
	pki, err := fltest.NewPKI("center", "bank1")
	require.NoError(t, err)
	var svcLog syncBuffer
	svc := &Service{Table: f.center, LR: f.lrCenter, Options: o, Banks: map[string]Quota{"bank1": {}}, Logger: debugLogger(&svcLog)}
	require.NoError(t, svc.Prepare())
	srv, addr, err := link.Listen("127.0.0.1:0", svc.Handle, link.GRPCOptions{TLS: pki.ServerTLS("center")})
	require.NoError(t, err)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var prog progressLog
	var bankLog bytes.Buffer
	bo := o
	bo.Progress, bo.Logger = prog.progress, debugLogger(&bankLog)
	s, err := f.bankRequest(ctx, addr.String(), pki, 1, ModelLR, bo)
	require.NoError(t, err)
	require.NoError(t, f.check(s, ModelLR, o))
	// Graceful shutdown waits for the session's handler, and so its last
	// line.
	require.NoError(t, srv.Shutdown(ctx))

	batches := (len(s.IDs) + o.BatchRows - 1) / o.BatchRows
	prog.check(t, []string{align.StepAlign, joint.StepKeys, StepScore}, []int{align.Phases, joint.KeyStages, batches})

	bankRecs := records(t, bankLog.String(), "ids", "rows", "params", "kind", "output", "batches", "seconds")
	require.Equal(t, []string{"align: start", "align: done", "keys: start", "keys: done", "score: start", "score: done"}, messages(bankRecs))

	svcRecs := records(t, svcLog.String(), "session", "bank", "model", "rows", "seconds")
	require.Equal(t, []string{"scoring session start", "scoring session end"}, messages(svcRecs))
	for _, r := range svcRecs {
		require.Equal(t, "bank1", r["bank"])
		require.Len(t, r["session"], 2*fl.SessionIDLength)
		require.Equal(t, svcRecs[0]["session"], r["session"])
	}
	require.EqualValues(t, len(s.IDs), svcRecs[1]["rows"])

	for _, text := range []string{bankLog.String(), svcLog.String()} {
		for _, ids := range [][]string{f.bank.IDs, f.center.IDs, s.IDs} {
			for _, id := range ids {
				require.NotContains(t, text, id)
			}
		}
		require.NotContains(t, text, "unknown-1-", "the bank's ids the center does not hold")
	}
}
