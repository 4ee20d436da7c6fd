//go:build unix

package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/node"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// faultSBT is the fault tests' training: long enough that a kill half a
// second after the alignment lands inside it on an idle machine too (4
// trees once ended within that half second there, since the KKRT and
// cached alignments left the cores free).
const faultSBT = "sbt: {trees: 40, depth: 2, bins: 8}\n"

var (
	alignedRE  = regexp.MustCompile(`"msg":"aligned rows by PSI"`)
	scoringRE  = regexp.MustCompile(`"msg":"scoring session start"`)
	modelDone  = regexp.MustCompile(`"msg":"model done"`)
	abortedRE  = regexp.MustCompile(`"msg":"session end".*"outcome":"aborted"`)
	drainingRE = regexp.MustCompile(`"msg":"center draining"`)
	goneRE     = regexp.MustCompile(`fl: (waiting for|send) "[a-z0-9.-]+".*(fl: connection lost|fl: transport closed|context canceled)`)
	closedRE   = regexp.MustCompile(`"msg":"audit: closed a session the node's previous run left unfinished"`)
)

// TestProcessFaults kills real processes mid-session: the bank's (`veil
// train` and `veil score`, SIGKILL) and the center's (`veil center`:
// SIGKILL; SIGTERM, which drains; SIGTERM twice, which kills), on
// loopback with mutual TLS. After each: the side left gets a clear error
// well within its deadline (the center's audit and log record the session
// aborted within seconds; the bank's call fails with fl.ErrConnLost); the
// audit log verifies, holds the aborted session (a killed center's is
// closed as aborted when it restarts, and its chain continues); the
// registries hold no half of a cut training and no temporary folder; and
// rerunning the same job or scoring succeeds against the (restarted)
// center. The bank's job keeps checkpoints (job.yaml checkpoint:); the
// center keeps none of a node training, so a rerun after a cut starts
// afresh (fl.Resume: "the peer holds none of this party's checkpoints"),
// which the test checks the bank says when it had some.
func TestProcessFaults(t *testing.T) {
	needProcs(t, "kills center and bank processes mid-session")
	p := newPilot(t, 600)
	addr := freePort(t)
	// The center's config with a fixed address, so that a restarted center
	// is where the banks' configs say, and its audit log.
	cfgText, err := os.ReadFile(p.centerYAML)
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^audit:.*\n`).ReplaceAllString(string(cfgText), "")
	cfg := write(t, filepath.Join(p.dir, "fault-center.yaml"),
		strings.Replace(text, "listen: 127.0.0.1:0", "listen: "+addr, 1)+"audit: audit.jsonl\n")
	auditPath := filepath.Join(p.dir, "audit.jsonl")
	centerReg, bankReg := filepath.Join(p.dir, "center-models"), filepath.Join(p.dir, "bank-a", "models")
	const prompt = 20 * time.Second // generous; the idle timeout is 2m, the session's 10m
	ctx := context.Background()
	// The center outlives the subtests: it is started, and stopped at
	// the end, under this test's t.
	top := t
	c := startCenterProc(top, cfg)

	sessions := 0
	// recorded checks the audit log after a fault or a rerun: it verifies,
	// holds one more session record, with this outcome.
	recorded := func(t *testing.T, outcome string) audit.Session {
		t.Helper()
		var ss []audit.Session
		for deadline := time.Now().Add(prompt); ; time.Sleep(20 * time.Millisecond) {
			ss = ss[:0]
			for _, r := range readAudit(t, auditPath) {
				if r.Type == audit.TypeSession {
					ss = append(ss, *r.Session)
				}
			}
			if len(ss) > sessions || time.Now().After(deadline) {
				break
			}
		}
		if len(ss) != sessions+1 {
			t.Fatalf("%d session records, want %d", len(ss), sessions+1)
		}
		sessions++
		s := ss[len(ss)-1]
		if s.Outcome != outcome || (outcome != audit.OutcomeOK) != (s.Error != "") {
			t.Fatalf("the session's record: %s %q, want %s", s.Outcome, s.Error, outcome)
		}
		return s
	}
	// halves checks the registries' versions of the bank's model name.
	halves := func(t *testing.T, name string, want int) {
		t.Helper()
		for _, dir := range []string{centerReg, bankReg} {
			if d := tmpDebris(dir); len(d) > 0 {
				t.Errorf("temporary folders left: %v", d)
			}
			reg, err := registry.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := reg.List()
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			n := 0
			for _, m := range ms {
				if m.Name == name {
					n++
				}
			}
			if n != want {
				t.Errorf("%s holds %d versions of %s, want %d", dir, n, name, want)
			}
		}
	}
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("bank process killed mid-training", func(t *testing.T) {
		job := p.jobYAML(t, "bank-a", addr, "sbt", "killed", faultSBT)
		bank := exec.Command(builtVeil(t), "train", "-config", job)
		var bankErr syncBuffer
		bank.Stderr = &bankErr
		from := c.logLen()
		if err := bank.Start(); err != nil {
			t.Fatal(err)
		}
		from = c.waitLog(t, from, alignedRE, time.Minute)
		time.Sleep(500 * time.Millisecond)
		if modelDone.MatchString(c.stderr.String()[from:]) {
			t.Fatal("the training ended before the kill")
		}
		killed := time.Now()
		if err := bank.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := bank.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("the bank's process: %v", err)
		}
		c.waitLog(t, from, abortedRE, prompt)
		s := recorded(t, audit.OutcomeAborted)
		t.Logf("center, %.2fs after the kill: %s", time.Since(killed).Seconds(), s.Error)
		// The kind: mostly fl.ErrConnLost; a send or receive that waited
		// for its turn on the session (fl.Bind's locks) when gRPC ended the
		// stream still says only "context canceled".
		if !goneRE.MatchString(s.Error) {
			t.Errorf("the record's error %q does not name the message and that the bank went away", s.Error)
		}
		halves(t, "killed", 0)

		if code, out, errs := veil(ctx, "train", "-config", job, "-json"); code != 0 {
			t.Fatalf("the rerun: %d %s%s", code, out, errs)
		}
		recorded(t, audit.OutcomeOK)
		halves(t, "killed", 1)
	})

	step("bank process killed mid-scoring", func(t *testing.T) {
		score := p.scoreYAML(t, "bank-a", addr, "killed", "bands")
		out := filepath.Join(p.dir, "bank-a", "out-bands")
		bank := exec.Command(builtVeil(t), "score", "-config", score)
		from := c.logLen()
		if err := bank.Start(); err != nil {
			t.Fatal(err)
		}
		from = c.waitLog(t, from, scoringRE, time.Minute)
		if err := bank.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := bank.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("the bank's process: %v (it finished before the kill)", err)
		}
		c.waitLog(t, from, abortedRE, prompt)
		recorded(t, audit.OutcomeAborted)
		if _, err := os.Stat(filepath.Join(out, "grades.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("grades.csv of the killed scoring: %v", err)
		}
		if code, o, errs := veil(ctx, "score", "-config", score); code != 0 {
			t.Fatalf("the rerun: %d %s%s", code, o, errs)
		}
		recorded(t, audit.OutcomeOK)
		if rows := readCSV(t, filepath.Join(out, "grades.csv")); len(rows) < 500 {
			t.Errorf("the rerun scored %d enterprises", len(rows)-1)
		}
	})

	// trainCut runs a training of name in this process while cut cuts the
	// center; it returns the bank's error and how long after the cut the
	// bank returned.
	trainCut := func(t *testing.T, name string, cut func(t *testing.T)) (error, time.Duration) {
		t.Helper()
		job, err := config.LoadJob(p.jobYAML(t, "bank-a", addr, "sbt", name, faultSBT+"checkpoint: ckpt-"+name+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		from := c.logLen()
		go func() {
			_, err := node.Train(ctx, job, nil)
			done <- err
		}()
		c.waitLog(t, from, alignedRE, time.Minute)
		time.Sleep(500 * time.Millisecond)
		cutAt := time.Now()
		cut(t)
		select {
		case err := <-done:
			return err, time.Since(cutAt)
		case <-time.After(2 * time.Minute):
			t.Fatal("the bank's training still runs 2 minutes after the center's cut")
		}
		return nil, 0
	}
	// rerun restarts the center, checks what its log and audit log say of
	// the cut session, and reruns the job, which must succeed.
	rerun := func(t *testing.T, name string, killed bool) {
		t.Helper()
		c = startCenterProc(top, cfg)
		recs := readAudit(t, auditPath)
		if killed {
			c.waitLog(t, 0, closedRE, prompt)
			s := recorded(t, audit.OutcomeAborted)
			if !strings.Contains(s.Error, "the node stopped during the session") {
				t.Errorf("the closed session's record: %q", s.Error)
			}
			recs = readAudit(t, auditPath)
		}
		opens := 0
		for _, r := range recs {
			if r.Type == audit.TypeOpen {
				opens++
				if opens > 1 && !r.Open.Continued {
					t.Errorf("record %d: an open record after a restart that does not continue the chain", r.Seq)
				}
			}
		}
		halves(t, name, 0)
		var bankLog syncBuffer
		job, err := config.LoadJob(filepath.Join(p.dir, "bank-a", name+"-job.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ckpts, _ := os.ReadDir(job.Checkpoint)
		res, err := node.Train(ctx, job, slog.New(slog.NewTextHandler(&bankLog, nil)))
		if err != nil {
			t.Fatalf("the rerun: %v\ncenter:\n%s", err, tail(c.stderr.String(), 3000))
		}
		recorded(t, audit.OutcomeOK)
		halves(t, name, 1)
		if len(ckpts) > 0 && !strings.Contains(bankLog.String(), "the peer holds none of this party's checkpoints; starting afresh") {
			t.Errorf("the bank held %d checkpoints and did not say it starts afresh:\n%s", len(ckpts), bankLog.String())
		}
		t.Logf("rerun: version %d, auc %.3f; the bank held %d checkpoint files", res.Version, res.AUC, len(ckpts))
	}

	step("center process killed (SIGKILL) mid-training", func(t *testing.T) {
		err, after := trainCut(t, "center-killed", func(t *testing.T) {
			c.signal(t, syscall.SIGKILL)
			if err := c.wait(t, prompt); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the center's process: %v", err)
			}
		})
		if !errors.Is(err, fl.ErrConnLost) || after > prompt {
			t.Fatalf("the bank's error %.2fs after the kill: %v; want fl.ErrConnLost within %s", after.Seconds(), err, prompt)
		}
		t.Logf("bank, %.2fs after the kill: %v", after.Seconds(), err)
		rerun(t, "center-killed", true)
	})

	step("center process stopped (SIGTERM) mid-training: it drains", func(t *testing.T) {
		from := c.logLen()
		err, _ := trainCut(t, "center-drained", func(t *testing.T) {
			c.signal(t, syscall.SIGTERM)
			c.waitLog(t, from, drainingRE, prompt)
		})
		if err != nil {
			t.Fatalf("the training the center drained: %v", err)
		}
		if err := c.wait(t, 2*time.Minute); err != nil {
			t.Fatalf("the drained center exited with %v", err)
		}
		recorded(t, audit.OutcomeOK)
		halves(t, "center-drained", 1)
		c = startCenterProc(top, cfg)
		if code, out, errs := veil(ctx, "train", "-config", filepath.Join(p.dir, "bank-a", "center-drained-job.yaml"), "-json"); code != 0 {
			t.Fatalf("the rerun: %d %s%s", code, out, errs)
		}
		recorded(t, audit.OutcomeOK)
		halves(t, "center-drained", 2)
	})

	step("center process stopped twice (SIGTERM, SIGTERM) mid-training: the second kills", func(t *testing.T) {
		from := c.logLen()
		err, after := trainCut(t, "center-terminated", func(t *testing.T) {
			c.signal(t, syscall.SIGTERM)
			c.waitLog(t, from, drainingRE, prompt)
			c.signal(t, syscall.SIGTERM)
			if err := c.wait(t, prompt); err == nil || !strings.Contains(err.Error(), "terminated") {
				t.Fatalf("the center's process after a second SIGTERM: %v", err)
			}
		})
		if !errors.Is(err, fl.ErrConnLost) || after > prompt {
			t.Fatalf("the bank's error %.2fs after the second SIGTERM: %v; want fl.ErrConnLost", after.Seconds(), err)
		}
		t.Logf("bank, %.2fs after the second SIGTERM: %v", after.Seconds(), err)
		rerun(t, "center-terminated", true)
	})

	c.signal(t, syscall.SIGTERM)
	if err := c.wait(t, time.Minute); err != nil {
		t.Errorf("the center exited with %v", err)
	}
	if code, out, errs := veil(ctx, "audit", "verify", auditPath); code != 0 {
		t.Errorf("veil audit verify after the faults: %d %s%s", code, out, errs)
	}
}
