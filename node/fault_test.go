package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/node/audit"
)

// faultTraining is the fault tests' model: the cheapest training the node
// runs (SecureBoost, one level), a second or so on two cores.
const faultTraining = "sbt: {trees: 2, depth: 1, bins: 8}"

// TestBankFaults: a bank whose session ends mid-training or mid-scoring,
// by its context ending (the process shutting down its work) or by its
// connection being reset under it (a proxy between bank and center sends
// RSTs half-way through the session's bytes: a dead host or link). In
// every case:
//   - the bank's call returns promptly with an error naming what happened
//     (context.Canceled, fl.ErrConnLost);
//   - the center ends the session within seconds, not at its idle or
//     session timeout, with an error naming the message it waited for or
//     sent and the kind: fl.ErrConnLost when the link was reset (not the
//     "context canceled" of the session's context, which gRPC ends with
//     the stream); fl.ErrClosed or fl.ErrConnLost when the bank closed or
//     cancelled its end (or the session's context.Canceled, when the
//     stream ended under a concurrent receive);
//   - its audit log verifies and records each cut session, once, as
//     aborted with its error, and each rerun as ok;
//   - neither registry holds a half of the cut training nor a temporary
//     folder; the cut scoring writes no output; no slot stays taken;
//   - rerunning the same job or scoring succeeds.
func TestBankFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("four trainings and four scorings through the node: not in -short")
	}
	// A long idle timeout: the center must notice the fault from the
	// connection, well before it.
	f, watch := newWatchedFixture(t, 300, 5*time.Minute)
	job := f.jobConfig(t, "bank-a", "sbt", faultTraining)
	centerReg, bankReg := filepath.Join(f.dir, "center-models"), filepath.Join(f.dir, "bank-a-models")
	const prompt = 20 * time.Second // a generous bound on noticing a fault; the timeouts are minutes

	auditPath := filepath.Join(f.dir, "audit.jsonl")
	sessions := 0 // session records so far
	// recorded checks that the audit log verifies and holds one more
	// session record than before, of the kind and outcome given.
	recorded := func(t *testing.T, kind bool, outcome string) audit.Session {
		t.Helper()
		var ss []audit.Session
		require.Eventually(t, func() bool {
			recs, ok := auditRecordsNow(t, auditPath)
			ss = sessionRecords(recs)
			return ok && len(ss) > sessions
		}, prompt, 10*time.Millisecond, "no session record")
		require.Len(t, ss, sessions+1, "one session record a session")
		sessions++
		s := ss[len(ss)-1]
		require.Equal(t, "bank-a", s.Peer.Name)
		require.Equal(t, outcome, s.Outcome, "the session's outcome (its error: %s)", s.Error)
		require.Equal(t, kind, s.Protocol == "boost", "a training's protocol is boost: %s", s.Protocol)
		if outcome != audit.OutcomeOK {
			require.NotEmpty(t, s.Error)
		}
		return s
	}
	const training, scoring = true, false
	// failedAfter waits for the center's "session end" line with an error
	// after mark, and checks its outcome, kind and promptness.
	failedAfter := func(t *testing.T, mark int, cut time.Time, kinds ...error) {
		t.Helper()
		e := watch.waitFor(t, mark, "session end", func(e logEvent) bool { return e.err("err") != nil }, prompt)
		require.Equal(t, audit.OutcomeAborted, e.str("outcome"))
		err := e.err("err")
		require.Error(t, err)
		require.True(t, slices.ContainsFunc(kinds, func(k error) bool { return errors.Is(err, k) }), "the center's error %q is none of %v", err, kinds)
		require.Regexp(t, `fl: (waiting for|send) "[a-z0-9.-]+"`, err.Error(), "the center's error names the message it waited for or sent")
		require.Less(t, e.at.Sub(cut), prompt)
		t.Logf("center: %v after %.2fs: %v", e.str("kind"), e.at.Sub(cut).Seconds(), err)
	}
	var trainBytes, scoreBytes uint64
	// Each case builds on the one before (the models trained, the bytes
	// of a whole session).
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("training, bank's context ends after the alignment", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var cut time.Time
		watch.once("aligned rows by PSI", func(logEvent) { cut = time.Now(); cancel() })
		mark := watch.mark()
		start := time.Now()
		_, err := Train(ctx, job, nil)
		require.Error(t, err)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, cut.IsZero(), "the hook ran")
		require.Less(t, time.Since(cut), prompt, "the bank returned promptly")
		failedAfter(t, mark, cut, fl.ErrClosed, fl.ErrConnLost, context.Canceled)
		require.Zero(t, watch.count(mark, "model done"), "the cut came before the model was trained")
		noDebris(t, centerReg)
		noDebris(t, bankReg)
		recorded(t, training, audit.OutcomeAborted)
		t.Logf("bank: %v (%.1fs)", err, time.Since(start).Seconds())

		res, err := Train(context.Background(), job, nil)
		require.NoError(t, err, "the rerun")
		require.Equal(t, 1, res.Version)
		trainBytes = res.BytesReceived
		noDebris(t, centerReg, "bank-a/sme-credit/1")
		noDebris(t, bankReg, "sme-credit/1")
		recorded(t, training, audit.OutcomeOK)
	})

	step("training, connection reset mid-training", func(t *testing.T) {
		require.NotZero(t, trainBytes)
		// Half of a whole training's bytes from the center: past the
		// alignment (a few kilobytes), within the training.
		p := newCutProxy(t, f.addr, int64(trainBytes/2))
		viaProxy := *job
		viaProxy.Center = p.addr()
		mark := watch.mark()
		_, err := Train(context.Background(), &viaProxy, nil)
		cut := time.Now()
		require.Error(t, err)
		require.Equal(t, int32(1), p.cuts.Load(), "the proxy cut the session")
		require.ErrorIs(t, err, fl.ErrConnLost, "the bank's error says the connection was lost: %v", err)
		failedAfter(t, mark, cut, fl.ErrConnLost)
		watch.waitFor(t, mark, "aligned rows by PSI", nil, 0)
		require.Zero(t, watch.count(mark, "model done"))
		noDebris(t, centerReg, "bank-a/sme-credit/1")
		noDebris(t, bankReg, "sme-credit/1")
		recorded(t, training, audit.OutcomeAborted)
		t.Logf("bank: %v", err)

		res, err := Train(context.Background(), job, nil)
		require.NoError(t, err, "the rerun")
		require.Equal(t, 2, res.Version)
		noDebris(t, centerReg, "bank-a/sme-credit/1", "bank-a/sme-credit/2")
		noDebris(t, bankReg, "sme-credit/1", "sme-credit/2")
		recorded(t, training, audit.OutcomeOK)
	})

	// Each scoring case has its own model version: an enterprise may be
	// scored 3 times a day per model (score.Quota), and a cut session's
	// ids count.
	step("scoring, bank's context ends once the scoring starts", func(t *testing.T) {
		cfg := f.scoreConfig(t, "bank-a", OutputBands)
		cfg.Version = 1
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var cut time.Time
		watch.once("scoring session start", func(logEvent) { cut = time.Now(); cancel() })
		mark := watch.mark()
		_, err := Score(ctx, cfg, nil)
		require.Error(t, err)
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(cut), prompt)
		failedAfter(t, mark, cut, fl.ErrClosed, fl.ErrConnLost, context.Canceled)
		_, serr := os.Stat(filepath.Join(cfg.Out, "grades.csv"))
		require.ErrorIs(t, serr, os.ErrNotExist, "a cut scoring writes no grades")
		recorded(t, scoring, audit.OutcomeAborted)

		res, err := Score(context.Background(), cfg, nil)
		require.NoError(t, err, "the rerun")
		require.Greater(t, res.Scored, 200)
		require.Equal(t, res.Scored, recorded(t, scoring, audit.OutcomeOK).Rows, "the record counts the bands revealed")
		scoreBytes = res.BytesRecv
	})

	step("scoring, connection reset mid-scoring", func(t *testing.T) {
		require.NotZero(t, scoreBytes)
		p := newCutProxy(t, f.addr, int64(scoreBytes/2))
		cfg := f.scoreConfig(t, "bank-a", OutputBands)
		cfg.Version, cfg.Out = 2, filepath.Join(f.dir, "bank-a-out-2")
		viaProxy := *cfg
		viaProxy.Center = p.addr()
		mark := watch.mark()
		_, err := Score(context.Background(), &viaProxy, nil)
		cut := time.Now()
		require.Error(t, err)
		require.Equal(t, int32(1), p.cuts.Load(), "the proxy cut the session")
		require.ErrorIs(t, err, fl.ErrConnLost, "the bank's error says the connection was lost: %v", err)
		watch.waitFor(t, mark, "scoring session start", nil, 0)
		failedAfter(t, mark, cut, fl.ErrConnLost)
		_, serr := os.Stat(filepath.Join(cfg.Out, "grades.csv"))
		require.ErrorIs(t, serr, os.ErrNotExist, "a cut scoring writes no grades")
		recorded(t, scoring, audit.OutcomeAborted)
		t.Logf("bank: %v", err)

		res, err := Score(context.Background(), cfg, nil)
		require.NoError(t, err, "the rerun")
		require.Greater(t, res.Scored, 200)
		require.Equal(t, res.Scored, recorded(t, scoring, audit.OutcomeOK).Rows, "the record counts the bands revealed")
	})

	// Nothing of the faults stays behind: the center runs no session.
	require.Eventually(t, func() bool {
		f.center.mu.Lock()
		defer f.center.mu.Unlock()
		return f.center.running == 0 && f.center.trainings == 0 && f.center.perBank["bank-a"] == 0
	}, 10*time.Second, 10*time.Millisecond, "every cut session released its slot")
}

// TestBankStalls: a bank whose link hangs mid-session (a proxy stops
// forwarding the center's bytes half-way and holds the connection open:
// the bank's process or host hung, the link black-holed). The center ends
// a scoring after its idle timeout (fl.ErrIdle), and a training, whose
// waits on the bank only the session timeout bounds (package doc), after
// that; each is recorded in the audit log, its slot is released, no half
// is stored, and the rerun succeeds.
func TestBankStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("trainings and scorings through the node, and a session timeout's wait: not in -short")
	}
	const idle, session = 2 * time.Second, 20 * time.Second
	f, watch := newWatchedFixtureTimeouts(t, 300, idle, session)
	job := f.jobConfig(t, "bank-a", "sbt", faultTraining)
	ctx := context.Background()
	ref, err := Train(ctx, job, nil)
	require.NoError(t, err)
	cfg := f.scoreConfig(t, "bank-a", OutputBands)
	sref, err := Score(ctx, cfg, nil)
	require.NoError(t, err)
	auditPath := filepath.Join(f.dir, "audit.jsonl")
	lastSession := func(t *testing.T) audit.Session {
		ss := sessionRecords(auditRecords(t, auditPath))
		require.NotEmpty(t, ss)
		return ss[len(ss)-1]
	}
	// rerunOK runs a rerun and checks its session record, ok (written as
	// the center's side ends, which may be after the bank's).
	rerunOK := func(t *testing.T, rerun func() error) {
		n := len(sessionRecords(auditRecords(t, auditPath)))
		require.NoError(t, rerun(), "the rerun")
		require.Eventually(t, func() bool {
			recs, ok := auditRecordsNow(t, auditPath)
			return ok && len(sessionRecords(recs)) > n
		}, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, audit.OutcomeOK, lastSession(t).Outcome)
	}
	released := func(t *testing.T) {
		require.Eventually(t, func() bool {
			f.center.mu.Lock()
			defer f.center.mu.Unlock()
			return f.center.running == 0 && f.center.trainings == 0
		}, 10*time.Second, 10*time.Millisecond, "the stalled session's slot is released")
	}
	// stall runs fn (the bank's side, over a proxy that freezes after cut
	// bytes) until the center ends the session, then ends the bank's wait,
	// and returns the center's session end line and the session's start.
	stall := func(t *testing.T, kind string, cut uint64, fn func(ctx context.Context, center string) error) (logEvent, time.Time) {
		p := newCutProxy(t, f.addr, int64(cut))
		p.freeze = true
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		mark := watch.mark()
		done := make(chan error, 1)
		go func() { done <- fn(bctx, p.addr()) }()
		started := watch.waitFor(t, mark, "session start", func(e logEvent) bool { return e.str("kind") == kind }, time.Minute)
		id := started.str("session")
		e := watch.waitFor(t, mark, "session end", func(e logEvent) bool { return e.str("session") == id }, session+30*time.Second)
		require.Equal(t, int32(1), p.cuts.Load(), "the proxy froze the session")
		cancel()
		select {
		case err := <-done:
			require.Error(t, err, "the bank's call fails once its context ends")
		case <-time.After(30 * time.Second):
			t.Fatal("the bank's call did not return after its context ended")
		}
		return e, started.at
	}

	t.Run("scoring: the idle timeout ends it", func(t *testing.T) {
		e, start := stall(t, KindScore, sref.BytesRecv/2, func(ctx context.Context, center string) error {
			c := *cfg
			c.Center, c.Out = center, filepath.Join(f.dir, "stalled-out")
			_, err := Score(ctx, &c, nil)
			return err
		})
		err := e.err("err")
		require.ErrorIs(t, err, fl.ErrIdle, "the center's error: %v", err)
		took := e.at.Sub(start)
		require.Less(t, took, idle+15*time.Second, "ended by the idle timeout, not the session's")
		t.Logf("center, %.1fs after the session's start: %v (outcome %s)", took.Seconds(), err, e.str("outcome"))
		s := lastSession(t)
		require.Contains(t, []string{audit.OutcomeAborted, audit.OutcomeError}, s.Outcome)
		require.Contains(t, s.Error, "fl: peer idle too long")
		released(t)
		rerunOK(t, func() error { _, err := Score(ctx, cfg, nil); return err })
	})

	t.Run("training: the session timeout ends it", func(t *testing.T) {
		e, start := stall(t, KindTrain, ref.BytesReceived/2, func(ctx context.Context, center string) error {
			j := *job
			j.Center = center
			_, err := Train(ctx, &j, nil)
			return err
		})
		err := e.err("err")
		require.ErrorIs(t, err, context.DeadlineExceeded, "the center's error: %v", err)
		took := e.at.Sub(start)
		require.Greater(t, took, session-2*time.Second, "a training's waits are bounded by the session timeout")
		require.Less(t, took, session+15*time.Second)
		t.Logf("center, %.1fs after the session's start: %v (outcome %s)", took.Seconds(), err, e.str("outcome"))
		require.Equal(t, audit.OutcomeAborted, lastSession(t).Outcome)
		released(t)
		noDebris(t, filepath.Join(f.dir, "center-models"), "bank-a/sme-credit/1")
		rerunOK(t, func() error { _, err := Train(ctx, job, nil); return err })
		noDebris(t, filepath.Join(f.dir, "center-models"), "bank-a/sme-credit/1", "bank-a/sme-credit/2")
	})
}
