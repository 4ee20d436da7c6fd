//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/node"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// soakBanks is the story's count of institutions computing on the credit
// center's records.
const soakBanks = 41

// soakScale is how much the soak does: the normal run is a minute or so on
// two loaded cores; VEIL_SOAK=full runs bigger tables and deeper trees,
// each bank training and scoring again and again for VEIL_SOAK_DURATION
// (default 5m).
type soakScale struct {
	rows      int           // the center's and the banks' enterprises
	sbt       string        // the job's model settings
	duration  time.Duration // 0: one round (a training, then a scoring) a bank
	sessions  int           // limits.sessions: at most this many at once
	trainings int           // limits.trainings
}

func soakScaleOf(t *testing.T) soakScale {
	s := soakScale{rows: 300, sbt: "sbt: {trees: 1, depth: 1, bins: 8}", sessions: 3, trainings: 2}
	if os.Getenv("VEIL_SOAK") == "full" {
		s.rows, s.sbt, s.duration = 3000, "sbt: {trees: 3, depth: 2, bins: 16}", 5*time.Minute
		if d, err := time.ParseDuration(os.Getenv("VEIL_SOAK_DURATION")); err == nil && d > 0 {
			s.duration = d
		}
	}
	return s
}

// TestSoak: 41 banks, each with its own certificate, registry and policy,
// train a model (SecureBoost of one level, the cheapest of the node's
// trainings: 0.8 s at 200 rows, measured, against 6.7 s for LR and 7.1 s
// for WOE, both paying for Shared15 keys) and score their enterprises
// (bands, which need no keys) against one center, `veil center` in a
// process of its own with limits of 3 sessions and 2 trainings at once
// (1 a bank), all starting together. Every session either succeeds or is
// refused as busy (node.ErrBusy, naming the limit) and retried with
// backoff; no other error. The center never runs more sessions (or
// trainings) at once than its limits, and reaches them (its log's session
// start and end lines; its metrics' active sessions); its metrics count
// the banks' busy refusals, sessions and rows scored; its goroutines
// return to where they were; its peak resident memory (VmHWM of
// /proc/PID/status: the center process's own, not this test's) stays
// under a bound. The audit log verifies (`veil audit verify`) and holds
// exactly one open record, and for each session one begin and one session
// record, ok, with its step records, and nothing else; both registries
// hold each training's halves, with no temporary folder. The figures are
// logged in one "soak:" line. VEIL_SOAK=full: see soakScale.
func TestSoak(t *testing.T) {
	needProcs(t, "41 banks training and scoring against a center process")
	scale := soakScaleOf(t)
	start := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	names := []string{"center"}
	banks := make([]string, soakBanks)
	for i := range banks {
		banks[i] = fmt.Sprintf("bank-%02d", i+1)
		names = append(names, banks[i])
	}
	if code, out, errs := veil(ctx, "pki", "-out", filepath.Join(dir, "pki"), "-names", strings.Join(names, ",")); code != 0 {
		t.Fatalf("veil pki: %d\n%s%s", code, out, errs)
	}
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: scale.rows, Seed: 41})
	if err != nil {
		t.Fatal(err)
	}
	writeTable(t, filepath.Join(dir, "center.csv"), center)
	writeTable(t, filepath.Join(dir, "bank.csv"), bank)
	applicants := *bank
	applicants.Labels = nil
	writeTable(t, filepath.Join(dir, "applicants.csv"), &applicants)

	metricsAddr := freePort(t)
	var yaml strings.Builder
	fmt.Fprintf(&yaml, `listen: 127.0.0.1:0
cert: pki/center.pem
key: pki/center-key.pem
ca: pki/ca.pem
registry: center-models
audit: audit.jsonl
metrics: %s
tables:
  enterprises: {source: center.csv, id: id}
limits:
  sessions: %d
  per_bank: 1
  trainings: %d
  session_timeout: 10m
  idle_timeout: 2m
banks:
`, metricsAddr, scale.sessions, scale.trainings)
	for _, b := range banks {
		fmt.Fprintf(&yaml, "  %s: {tables: [enterprises], models: [sbt], outputs: [bands]}\n", b)
	}
	cfgPath := write(t, filepath.Join(dir, "center.yaml"), yaml.String())
	jobs, scores := make([]*config.Job, soakBanks), make([]*config.Score, soakBanks)
	for i, b := range banks {
		bdir := filepath.Join(dir, b)
		if err := os.MkdirAll(bdir, 0o755); err != nil {
			t.Fatal(err)
		}
		common := fmt.Sprintf("center: %%s\ncert: ../pki/%[1]s.pem\nkey: ../pki/%[1]s-key.pem\nca: ../pki/ca.pem\nregistry: models\n", b)
		jobs[i] = &config.Job{File: write(t, filepath.Join(bdir, "job.yaml"), common+"data: {source: ../bank.csv, id: id, label: y}\ntable: enterprises\nmodel: sbt\nname: soak\n"+scale.sbt+"\n")}
		scores[i] = &config.Score{File: write(t, filepath.Join(bdir, "score.yaml"), common+"data: {source: ../applicants.csv, id: id}\nmodel: soak\noutput: bands\nout: out\n")}
	}

	c := startCenterProc(t, cfgPath)
	// The configs name the center's address, known now.
	for i := range banks {
		for _, p := range []string{jobs[i].File, scores[i].File} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, fmt.Sprintf(string(b), c.addr))
		}
		if jobs[i], err = config.LoadJob(jobs[i].File); err != nil {
			t.Fatal(err)
		}
		if scores[i], err = config.LoadScore(scores[i].File); err != nil {
			t.Fatal(err)
		}
	}
	before, err := scrape(metricsAddr)
	if err != nil {
		t.Fatalf("metrics before the soak: %v", err)
	}

	// The center's resident memory and its active sessions, sampled.
	stop := make(chan struct{})
	var samplers sync.WaitGroup
	var peakRSS atomic.Uint64
	var maxActive, maxActiveTrain atomic.Int64
	samplers.Go(func() {
		for {
			if rss, err := procStatus(c.pid(), "VmRSS"); err == nil && rss > peakRSS.Load() {
				peakRSS.Store(rss)
			}
			if m, err := scrape(metricsAddr); err == nil {
				maxActive.Store(max(maxActive.Load(), int64(m.sum("veil_sessions_active"))))
				maxActiveTrain.Store(max(maxActiveTrain.Load(), int64(m.sum("veil_sessions_active", `kind="train"`))))
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})

	// The banks, all at once.
	soakStart := time.Now()
	deadline := soakStart.Add(scale.duration + 10*time.Minute)
	bctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var (
		mu                       sync.Mutex
		errs                     []error
		trained, scored, refused int
		scoredRows               int
		refusedBy                = map[string]int{} // busy refusals by the limit named
		rounds                   = map[string]int{} // trainings and scorings of each bank
	)
	var wg sync.WaitGroup
	for i, b := range banks {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 41))
			log := slog.New(slog.DiscardHandler)
			for round := 0; ; round++ {
				var res *node.TrainResult
				busy, err := busyRetry(deadline, rng, func() (err error) { res, err = node.Train(bctx, jobs[i], log); return err })
				var sres *node.ScoreResult
				var sbusy map[string]int
				if err == nil {
					sbusy, err = busyRetry(deadline, rng, func() (err error) { sres, err = node.Score(bctx, scores[i], log); return err })
				}
				mu.Lock()
				for _, m := range []map[string]int{busy, sbusy} {
					for rule, n := range m {
						refusedBy[rule] += n
						refused += n
					}
				}
				if res != nil {
					trained++
				}
				if sres != nil {
					scored++
					scoredRows += sres.Scored
					rounds[b]++
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s, round %d: %w", b, round, err))
				}
				mu.Unlock()
				if err != nil || time.Since(soakStart) >= scale.duration {
					return
				}
			}
		})
	}
	wg.Wait()
	soakSecs := time.Since(soakStart).Seconds()
	close(stop)
	samplers.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%d sessions failed otherwise than busy:\n%v\ncenter:\n%s", len(errs), err, tail(c.stderr.String(), 4000))
	}
	sessions := trained + scored
	if trained < soakBanks || scored != trained {
		t.Fatalf("%d trainings and %d scorings, want at least %d of each, as many scorings as trainings", trained, scored, soakBanks)
	}
	if refused == 0 {
		t.Error("no session was refused as busy: the soak did not reach the center's limits")
	}

	// The last sessions' ends are counted as the banks leave.
	var after metricsSample
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if after, err = scrape(metricsAddr); err != nil {
			t.Fatal(err)
		}
		if after.sum("veil_sessions_ended_total") >= float64(sessions) || time.Now().After(wait) {
			break
		}
	}
	if got := after.sum("veil_sessions_refused_total", `reason="busy"`); got != float64(refused) {
		t.Errorf("the center's metrics count %v busy refusals, the banks met %d", got, refused)
	}
	if got := after.sum("veil_sessions_refused_total"); got != float64(refused) {
		t.Errorf("the center refused %v sessions, %d of them busy", got, refused)
	}
	if got := after.sum("veil_sessions_ended_total", `outcome="ok"`); got != float64(sessions) {
		t.Errorf("the center's metrics count %v sessions ended ok, want %d", got, sessions)
	}
	if got := after.sum("veil_rows_scored_total"); got != float64(scoredRows) {
		t.Errorf("the center's metrics count %v rows scored, the banks %d", got, scoredRows)
	}
	// Goroutines: back to where they were (a few of the HTTP server's and
	// the runtime's come and go).
	var goroutines float64
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if m, err := scrape(metricsAddr); err == nil {
			goroutines = m.sum("go_goroutines")
		}
		if goroutines <= before.sum("go_goroutines")+5 || time.Now().After(wait) {
			break
		}
	}
	if goroutines > before.sum("go_goroutines")+5 {
		t.Errorf("the center runs %v goroutines after the soak, %v before", goroutines, before.sum("go_goroutines"))
	}
	hwm, err := procStatus(c.pid(), "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	// Bounded: the limits keep at most 8 sessions' keys and buffers
	// alive; a leak of a session's each would pass this at a few hundred
	// sessions.
	const memBound = 1536 << 20
	if hwm > memBound {
		t.Errorf("the center's peak resident memory %d MiB, over %d MiB", hwm>>20, memBound>>20)
	}

	c.signal(t, syscall.SIGTERM)
	if err := c.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("the center exited with %v:\n%s", err, tail(c.stderr.String(), 4000))
	}

	// The limits held: the center's log's starts and ends, in order.
	maxRun, maxTrain, logged := concurrency(t, c.stderr.String())
	if maxRun > scale.sessions || maxTrain > scale.trainings || maxActive.Load() > int64(scale.sessions) || maxActiveTrain.Load() > int64(scale.trainings) {
		t.Errorf("sessions at once %d (metrics %d), trainings %d (metrics %d): over the limits %d and %d",
			maxRun, maxActive.Load(), maxTrain, maxActiveTrain.Load(), scale.sessions, scale.trainings)
	}
	if maxRun < scale.sessions || maxTrain < scale.trainings {
		t.Errorf("at most %d sessions (%d trainings) at once: the soak did not reach the limits %d (%d)", maxRun, maxTrain, scale.sessions, scale.trainings)
	}
	if logged != sessions {
		t.Errorf("the center logged %d sessions, the banks ran %d", logged, sessions)
	}
	if refusedBy["limits.sessions"] == 0 || refusedBy["limits.trainings"] == 0 {
		t.Errorf("busy refusals by limit %v: want some of limits.sessions and of limits.trainings", refusedBy)
	}

	// The audit log: verifies, exactly the sessions' records.
	auditPath := filepath.Join(dir, "audit.jsonl")
	if code, out, errs := veil(ctx, "audit", "verify", auditPath); code != 0 {
		t.Fatalf("veil audit verify: %d\n%s%s", code, out, errs)
	}
	recs := readAudit(t, auditPath)
	checkSoakAudit(t, recs, banks, rounds, sessions, scoredRows)

	// The registries: each training's halves, no temporary folder.
	creg, err := registry.Open(filepath.Join(dir, "center-models"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := creg.List()
	if err != nil || len(ms) != trained {
		t.Errorf("the center's registry holds %d halves (%v), want %d", len(ms), err, trained)
	}
	if d := tmpDebris(dir); len(d) > 0 {
		t.Errorf("temporary folders left: %v", d)
	}
	for _, b := range banks {
		reg, err := registry.Open(filepath.Join(dir, b, "models"))
		if err != nil {
			t.Fatal(err)
		}
		if ms, err := reg.List(); err != nil || len(ms) != rounds[b] {
			t.Errorf("%s's registry holds %d halves (%v), want %d", b, len(ms), err, rounds[b])
		}
	}
	t.Logf("soak: %d banks, %d center rows, %s; %d sessions (%d trainings, %d scorings of %d rows), %d busy refusals retried %v, 0 other errors; at most %d sessions (%d trainings) at once, limits %d (%d); center peak RSS (VmHWM) %.0f MiB, sampled peak VmRSS %.0f MiB; %d audit records; %.1f s of sessions, %.1f s in all",
		soakBanks, scale.rows, scale.sbt, sessions, trained, scored, scoredRows, refused, refusedBy, maxRun, maxTrain, scale.sessions, scale.trainings,
		float64(hwm)/(1<<20), float64(peakRSS.Load())/(1<<20), len(recs), soakSecs, time.Since(start).Seconds())
}

// concurrency reads the center's log's session start and end lines (JSON,
// in order) and returns the most sessions and trainings that ran at once,
// and how many sessions started.
func concurrency(t *testing.T, log string) (maxRun, maxTrain, started int) {
	t.Helper()
	kinds := map[string]string{}
	run, train := 0, 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `"msg":"session start"`) && !strings.Contains(line, `"msg":"session end"`) {
			continue
		}
		var l struct{ Msg, Kind, Session string }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Session == "" || l.Kind == "" {
			t.Fatalf("a session line without its session id or kind (%v): %s", err, line)
		}
		switch l.Msg {
		case "session start":
			if _, ok := kinds[l.Session]; ok {
				t.Fatalf("session %s started twice", l.Session)
			}
			kinds[l.Session] = l.Kind
			started++
			run++
			if l.Kind == node.KindTrain {
				train++
			}
		case "session end":
			k, ok := kinds[l.Session]
			if !ok {
				t.Fatalf("session %s ended without a start", l.Session)
			}
			delete(kinds, l.Session)
			run--
			if k == node.KindTrain {
				train--
			}
		}
		maxRun, maxTrain = max(maxRun, run), max(maxTrain, train)
	}
	if len(kinds) > 0 {
		t.Errorf("%d sessions never ended", len(kinds))
	}
	return maxRun, maxTrain, started
}

// checkSoakAudit checks that the soak's audit log holds exactly: one open
// record, then for each session a begin and a session record (ok, of a
// bank of the soak, with its disclosures), with step records only of
// running sessions; for each bank, its rounds' trainings and as many
// scorings; the scorings' records count the rows the banks scored.
func checkSoakAudit(t *testing.T, recs []audit.Record, banks []string, rounds map[string]int, sessions, scoredRows int) {
	t.Helper()
	open := map[string]audit.Begin{}
	perBank := map[string][2]int{}
	begins, ends, rows := 0, 0, 0
	for i, r := range recs {
		switch r.Type {
		case audit.TypeOpen:
			if i != 0 {
				t.Errorf("record %d: an open record past the first (the center was opened once)", r.Seq)
			}
		case audit.TypeBegin:
			if _, ok := open[r.Begin.ID]; ok {
				t.Errorf("record %d: session %s begins twice", r.Seq, r.Begin.ID)
			}
			open[r.Begin.ID] = *r.Begin
			begins++
		case audit.TypeStep:
			if _, ok := open[r.Step.Session]; !ok {
				t.Errorf("record %d: a step of session %s, which is not running", r.Seq, r.Step.Session)
			}
		case audit.TypeSession:
			s := r.Session
			if _, ok := open[s.ID]; !ok {
				t.Errorf("record %d: session %s ends without a begin", r.Seq, s.ID)
			}
			delete(open, s.ID)
			ends++
			if s.Outcome != audit.OutcomeOK || s.Error != "" {
				t.Errorf("record %d: session %s of %s: %s %s", r.Seq, s.ID, s.Peer.Name, s.Outcome, s.Error)
			}
			if len(s.Disclosures) == 0 || s.Peer.Fingerprint == "" || s.BytesSent == 0 {
				t.Errorf("record %d: session %s lacks its disclosures, the bank's fingerprint or its bytes: %+v", r.Seq, s.ID, *s)
			}
			n := perBank[s.Peer.Name]
			if s.Protocol == "boost" {
				n[0]++
			} else if s.Protocol == "score" {
				n[1]++
				rows += s.Rows
			} else {
				t.Errorf("record %d: protocol %q", r.Seq, s.Protocol)
			}
			perBank[s.Peer.Name] = n
		default:
			t.Errorf("record %d: type %q", r.Seq, r.Type)
		}
	}
	if begins != sessions || ends != sessions || len(open) > 0 {
		t.Errorf("%d begin and %d session records (%d left open), want %d of each", begins, ends, len(open), sessions)
	}
	if rows != scoredRows {
		t.Errorf("the scorings' records count %d rows, the banks scored %d", rows, scoredRows)
	}
	if len(perBank) != len(banks) {
		t.Errorf("sessions of %d banks, want %d", len(perBank), len(banks))
	}
	for _, b := range banks {
		if n := perBank[b]; n[0] != rounds[b] || n[1] != rounds[b] {
			t.Errorf("%s: %d trainings and %d scorings in the log, want %d of each", b, n[0], n[1], rounds[b])
		}
	}
}

// tail is the end of a long log.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
