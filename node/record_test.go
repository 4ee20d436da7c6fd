package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
)

const auditYAML = "audit: audit.jsonl\nmetrics: 127.0.0.1:0\n"

// counting is a transport that counts the messages sent through it, by
// type, and the parts of each message's multi-part payload (fl.JoinParts).
type counting struct {
	fl.Transport
	mu       sync.Mutex
	sent     map[string]int
	msgParts map[string][]int
}

func (c *counting) Send(ctx context.Context, m fl.Message) error {
	c.mu.Lock()
	if c.sent == nil {
		c.sent, c.msgParts = map[string]int{}, map[string][]int{}
	}
	c.sent[m.Type]++
	// A session's messages carry its binding first (fl.Bind: the session
	// id and a sequence number).
	n := countParts(m.Payload)
	if bound := fl.SessionIDLength + 8; n == 0 && len(m.Payload) > bound {
		n = countParts(m.Payload[bound:])
	}
	c.msgParts[m.Type] = append(c.msgParts[m.Type], n)
	c.mu.Unlock()
	return c.Transport.Send(ctx, m)
}

// countParts is how many parts fl.JoinParts packed into b (0 for a
// payload that is not such a sequence).
func countParts(b []byte) int {
	n := 0
	for len(b) >= 8 {
		l := binary.LittleEndian.Uint64(b)
		if l > uint64(len(b)-8) {
			return 0
		}
		b = b[8+l:]
		n++
	}
	if len(b) > 0 {
		return 0
	}
	return n
}

func (c *counting) count(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[typ]
}

// partsEach returns the parts of each message of type typ, in order.
func (c *counting) partsEach(typ string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgParts[typ])
}

// scrape GETs the center's metrics, as curl would, and returns the text.
func scrape(t *testing.T, c *Center) string {
	t.Helper()
	require.NotNil(t, c.MetricsAddr(), "the center serves metrics")
	resp, err := http.Get("http://" + c.MetricsAddr().String() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// readAudit reads and verifies the audit log at path.
func readAudit(t *testing.T, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, _, err := audit.Read(f)
	require.NoError(t, err, "the audit log verifies")
	return recs
}

// sessionsOf returns the session records of a log, and the step records'
// disclosures summed per session.
func sessionsOf(recs []audit.Record) (sessions []audit.Session, steps map[string]map[string]int) {
	steps = map[string]map[string]int{}
	for _, r := range recs {
		switch r.Type {
		case audit.TypeSession:
			sessions = append(sessions, *r.Session)
		case audit.TypeStep:
			if steps[r.Step.Session] == nil {
				steps[r.Step.Session] = map[string]int{}
			}
			for _, d := range r.Step.Disclosures {
				steps[r.Step.Session][d.Step] += d.Count
			}
		}
	}
	return sessions, steps
}

// TestAuditTrainingMatchesWire: a small LR training served by the center
// (its session handler over an in-memory pipe, the bank's side run as
// Train runs it) leaves a session record whose disclosure counts, taken
// from the center's plan admissions, equal the messages on the wire that
// reveal those values to the bank: each opened score batch, each opened
// center gradient, each loss share and the bank's final weights; the step
// records add up to the same; no id or feature value of either party is
// in the log or the center's structured log. Without the observer (the
// admit path's hook) only the grant would be counted and the test fails.
func TestAuditTrainingMatchesWire(t *testing.T) {
	if testing.Short() {
		t.Skip("a federated LR training: not in -short")
	}
	f := newFixtureWith(t, 300, 2, 4, auditYAML)
	var logBuf syncBuffer
	f.center.log = slog.New(slog.NewJSONHandler(&logBuf, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	cfg := f.jobConfig(t, "bank-a", "lr", "lr: {epochs: 2}")
	spec, err := cfg.Spec()
	require.NoError(t, err)
	spec.Train, err = cfg.Data.Load(ctx)
	require.NoError(t, err)

	bankEnd, centerEnd := fl.NewPipe()
	wire := &counting{Transport: centerEnd}
	id := fl.Identity{Name: "bank-a", Fingerprint: sha256.Sum256([]byte("bank-a's certificate"))}
	served := make(chan error, 1)
	go func() { served <- f.center.handle(fl.WithPeerIdentity(ctx, id), wire) }()

	req := request{Version: requestVersion, Kind: KindTrain, Table: "enterprises", Model: "lr", Name: "sme-credit",
		ConfigDigest: cfg.Digest, Rows: spec.Train.Rows()}
	rep, err := ask(ctx, bankEnd, req)
	require.NoError(t, err)
	require.Contains(t, scrape(t, f.center), `veil_sessions_active{kind="train"} 1`, "the session is active once granted")
	res, err := job.RunActive(ctx, bankEnd, spec)
	require.NoError(t, err)
	var st stored
	require.NoError(t, fl.RecvJSON(ctx, bankEnd, TypeStored, &st))
	require.Equal(t, 1, st.Version)
	require.NoError(t, <-served)
	require.Positive(t, rep.Columns)

	recs := readAudit(t, filepath.Join(f.dir, "audit.jsonl"))
	sessions, steps := sessionsOf(recs)
	require.Len(t, sessions, 1)
	s := sessions[0]
	t.Logf("%s", s.Summary())
	require.Equal(t, audit.OutcomeOK, s.Outcome)
	require.Equal(t, "bank-a", s.Peer.Name)
	require.Equal(t, "vlr", s.Protocol)
	require.Equal(t, res.RowsAligned, s.Rows)
	require.Len(t, s.Peer.Fingerprint, 64)
	got := map[string]int{}
	for _, d := range s.Disclosures {
		require.Equal(t, "bank-a", d.To, "the center's plan admits what the bank learns")
		got[d.Step] += d.Count
		if d.Step == vlr.StepLoss {
			require.Equal(t, int64(d.Count), d.Values, "a sum's decryption reveals one value")
		}
	}
	// What reveals each step's values to the bank, as the center sends it.
	want := map[string]int{
		stepGrantColumns:       wire.count(TypeReply),
		vlr.StepScores:         wire.count(vlr.TypeOpenScores),
		vlr.StepCenterGradient: wire.count(vlr.TypeOpenGradient),
		vlr.StepLoss:           wire.count(joint.TypeSumShare),
		vlr.StepBankWeights:    wire.count(vlr.TypeFinal),
	}
	for step, n := range want {
		require.Positive(t, n, "step %s on the wire", step)
	}
	require.Equal(t, want, got, "the logged counts are the messages on the wire")
	require.Equal(t, got, steps[s.ID], "the step records add up to the session's")
	// The record is written before the stored reply, its bytes too.
	require.LessOrEqual(t, s.BytesSent, wire.Stats().SentBytes)
	require.Greater(t, s.BytesSent, wire.Stats().SentBytes-1024)

	m := scrape(t, f.center)
	require.Contains(t, m, `veil_sessions_ended_total{bank="bank-a",kind="train",outcome="ok"} 1`)
	require.Contains(t, m, `veil_sessions_active{kind="train"} 0`)

	// No raw value, id or key material: a few ids of each party, the
	// labels' and features' values as a CSV or JSON would print them.
	log, err := os.ReadFile(filepath.Join(f.dir, "audit.jsonl"))
	require.NoError(t, err)
	text := string(log) + logBuf.String()
	require.Contains(t, logBuf.String(), `"session":"`+s.ID+`"`, "the structured log names the session")
	tables, err := f.center.cfg.LoadTables(ctx)
	require.NoError(t, err)
	for _, tb := range []*struct {
		ids []string
		x   []float64
	}{{spec.Train.IDs, spec.Train.X}, {tables["enterprises"].IDs, tables["enterprises"].X}} {
		for i := 0; i < len(tb.ids); i += len(tb.ids) / 7 {
			require.NotContains(t, text, `"`+tb.ids[i]+`"`, "id %s in the logs", tb.ids[i])
		}
		checked := 0
		for _, v := range tb.x {
			s := strconv.FormatFloat(v, 'g', -1, 64)
			if len(s) < 6 { // 0, 1, small counts: in any text
				continue
			}
			require.NotContains(t, text, s, "value %s in the logs", s)
			if checked++; checked == 50 {
				break
			}
		}
		require.Equal(t, 50, checked)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
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

// TestAuditRestart: a session the bank drops after its grant is recorded
// (begin, the grant's step, an aborted session record) and counted in the
// metrics, which a GET shows active during the session and ended after;
// a refusal is counted by its reason word; a restarted center continues
// the chain and closes a session its previous run left unfinished with an
// aborted record; the whole file verifies.
func TestAuditRestart(t *testing.T) {
	f := newFixtureWith(t, 200, 1, 1, auditYAML)
	path := filepath.Join(f.dir, "audit.jsonl")

	tr, rep, err := f.ask(t, "bank-b", trainReq("enterprises", "lr"))
	require.NoError(t, err)
	require.Equal(t, len(bankBColumns), rep.Columns)
	require.Contains(t, scrape(t, f.center), `veil_sessions_active{kind="train"} 1`)
	// bank-b has one session at most: a second is refused as busy.
	_, err = f.askClose(t, "bank-b", trainReq("enterprises", "lr"))
	require.ErrorIs(t, err, ErrBusy)
	require.NoError(t, tr.Close())
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, f.center), `veil_sessions_ended_total{bank="bank-b",kind="train",outcome="aborted"} 1`)
	}, time.Minute, 50*time.Millisecond)
	m := scrape(t, f.center)
	require.Contains(t, m, `veil_sessions_active{kind="train"} 0`)
	require.Contains(t, m, `veil_sessions_refused_total{bank="bank-b",reason="busy"} 1`)

	// Stop the center (Serve closes the log), leave a begun session in
	// the file as a killed node would, and start it again.
	f.cancel()
	err = <-f.served
	f.served <- err // for the fixture's cleanup
	require.NoError(t, err)
	al, err := audit.Open(path, audit.Options{})
	require.NoError(t, err)
	_, err = al.Append(audit.Begin{ID: "killed-session", Peer: audit.Peer{Name: "bank-a"}, Protocol: "boost"})
	require.NoError(t, err)
	_, err = al.Append(audit.Step{Session: "killed-session", Disclosures: []audit.Disclosure{{To: "bank-a", Step: "boost.histograms", Count: 3, Values: 96}}})
	require.NoError(t, err)
	require.NoError(t, al.Close())

	c2, err := NewCenter(f.center.cfg, testLogger(t))
	require.NoError(t, err)
	require.NoError(t, c2.Close())

	recs := readAudit(t, path)
	var opens []audit.Opened
	for _, r := range recs {
		if r.Type == audit.TypeOpen {
			opens = append(opens, *r.Open)
		}
	}
	require.Len(t, opens, 3, "the center's first run, the test's append, the restart")
	require.False(t, opens[0].Continued)
	require.True(t, opens[2].Continued)
	require.Equal(t, 1, opens[2].Unfinished)
	sessions, _ := sessionsOf(recs)
	require.Len(t, sessions, 2)
	dropped, killed := sessions[0], sessions[1]
	require.Equal(t, audit.OutcomeAborted, dropped.Outcome)
	require.Equal(t, "bank-b", dropped.Peer.Name)
	require.Equal(t, []audit.Disclosure{{To: "bank-b", Step: stepGrantColumns, What: "how many of the center's columns the training uses", Count: 1, Values: 1}}, dropped.Disclosures)
	require.Equal(t, bankBColumns, dropped.Columns)
	require.Equal(t, "killed-session", killed.ID)
	require.Equal(t, audit.OutcomeAborted, killed.Outcome)
	require.Equal(t, 3, killed.Disclosures[0].Count, "the aborted record carries what the steps recorded")
	last := recs[len(recs)-1]
	require.Equal(t, audit.TypeSession, last.Type)

	// The records' JSON names no column value: a spot check of the form.
	b, err := json.Marshal(dropped)
	require.NoError(t, err)
	require.NotContains(t, string(b), f.bank.IDs[0])
}

// TestAuditBankAndScoring: a bank's training with its own audit log (job
// config audit:) records what its plans revealed to the center, the
// mirror of the center's record (as many bank gradients opened as center
// gradients, the center's final weights once); a scoring's record at the
// center counts the bands revealed (the rows the bank scored) and the
// grade cut points of the grant, and the metrics count the rows scored.
func TestAuditBankAndScoring(t *testing.T) {
	if testing.Short() {
		t.Skip("a federated training and scoring: not in -short")
	}
	f := newFixtureWith(t, 300, 2, 4, auditYAML)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tr, err := Train(ctx, f.jobConfig(t, "bank-a", "lr", "lr: {epochs: 1}\naudit: bank-audit.jsonl"), testLogger(t))
	require.NoError(t, err)
	scfg := f.scoreConfig(t, "bank-a", OutputBands)
	b, err := os.ReadFile(scfg.File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(scfg.File, append(b, "audit: bank-audit.jsonl\n"...), 0o644))
	scfg, err = config.LoadScore(scfg.File)
	require.NoError(t, err)
	res, err := Score(ctx, scfg, testLogger(t))
	require.NoError(t, err)

	bankSessions, _ := sessionsOf(readAudit(t, filepath.Join(f.dir, "bank-audit.jsonl")))
	require.Len(t, bankSessions, 2, "the training's and the scoring's, one chain")
	require.Equal(t, "score", bankSessions[1].Protocol)
	require.Equal(t, res.Scored, bankSessions[1].Rows)
	require.Empty(t, bankSessions[1].Disclosures, "a scoring decrypts nothing of the bank's for the center")
	require.Equal(t, audit.OutcomeOK, bankSessions[1].Outcome)
	bs := bankSessions[0]
	t.Logf("bank: %s", bs.Summary())
	require.Equal(t, audit.OutcomeOK, bs.Outcome)
	require.Equal(t, "center", bs.Peer.Name)
	require.Equal(t, tr.RowsAligned, bs.Rows)
	require.Equal(t, tr.CenterColumns, bs.PeerColumns)
	bank := map[string]int{}
	for _, d := range bs.Disclosures {
		require.Equal(t, "center", d.To)
		bank[d.Step] += d.Count
	}

	// The center ends its side of the scoring after the bank has its
	// result: wait for its record.
	var centerSessions []audit.Session
	require.Eventually(t, func() bool {
		centerSessions, _ = sessionsOf(readAudit(t, filepath.Join(f.dir, "audit.jsonl")))
		return len(centerSessions) == 2
	}, time.Minute, 20*time.Millisecond)
	train, scoring := centerSessions[0], centerSessions[1]
	t.Logf("center, training: %s", train.Summary())
	t.Logf("center, scoring: %s", scoring.Summary())
	center := map[string]int{}
	for _, d := range train.Disclosures {
		center[d.Step] += d.Count
	}
	require.Equal(t, map[string]int{vlr.StepBankGradient: center[vlr.StepCenterGradient], vlr.StepCenterWeights: 1}, bank)

	require.Equal(t, "score", scoring.Protocol)
	require.Equal(t, "enterprises", scoring.Table)
	require.Equal(t, res.Scored, scoring.Rows)
	var bands, cuts int
	for _, d := range scoring.Disclosures {
		switch d.Step {
		case "score.bands":
			bands += d.Count
		case stepGrantGrades:
			cuts = int(d.Values)
		}
	}
	require.Equal(t, res.Scored, bands, "one band per record scored")
	require.Equal(t, len(res.Grades)-1, cuts, "the grant's cut points")
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, f.center), `veil_rows_scored_total{bank="bank-a"} `+strconv.Itoa(res.Scored))
	}, time.Minute, 20*time.Millisecond)

	// Scores: the center helps decrypt one vector of logits a batch,
	// which its plan admits.
	res, err = Score(ctx, f.scoreConfig(t, "bank-a", OutputScores), testLogger(t))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		centerSessions, _ = sessionsOf(readAudit(t, filepath.Join(f.dir, "audit.jsonl")))
		return len(centerSessions) == 3
	}, time.Minute, 20*time.Millisecond)
	scores := centerSessions[2]
	t.Logf("center, scoring scores: %s", scores.Summary())
	require.Equal(t, res.Scored, scores.Rows)
	var logits int64
	for _, d := range scores.Disclosures {
		if d.Step == "score.scores" {
			logits += d.Values
			require.Positive(t, d.Count)
		}
	}
	require.Equal(t, int64(res.Scored), logits, "one logit per record scored")
}

// trainOverPipe runs a training of kind as bank-a against the center's
// session handler over an in-memory pipe whose center end counts what it
// sends, and returns the counts and the session's record.
func trainOverPipe(t *testing.T, f *fixture, kind, settings string) (*counting, audit.Session, map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := f.jobConfig(t, "bank-a", kind, settings)
	spec, err := cfg.Spec()
	require.NoError(t, err)
	spec.Train, err = cfg.Data.Load(ctx)
	require.NoError(t, err)
	bankEnd, centerEnd := fl.NewPipe()
	wire := &counting{Transport: centerEnd}
	served := make(chan error, 1)
	go func() { served <- f.center.handle(fl.WithPeerIdentity(ctx, fl.Identity{Name: "bank-a"}), wire) }()
	_, err = ask(ctx, bankEnd, request{Version: requestVersion, Kind: KindTrain, Table: "enterprises", Model: kind, Name: "m-" + kind,
		ConfigDigest: cfg.Digest, Rows: spec.Train.Rows()})
	require.NoError(t, err)
	_, err = job.RunActive(ctx, bankEnd, spec)
	require.NoError(t, err)
	var st stored
	require.NoError(t, fl.RecvJSON(ctx, bankEnd, TypeStored, &st))
	require.NoError(t, <-served)
	sessions, steps := sessionsOf(readAudit(t, filepath.Join(f.dir, "audit.jsonl")))
	s := sessions[len(sessions)-1]
	t.Logf("%s: %s", kind, s.Summary())
	require.Equal(t, audit.OutcomeOK, s.Outcome)
	got := map[string]int{}
	for _, d := range s.Disclosures {
		got[d.Step] += d.Count
	}
	require.Equal(t, got, steps[s.ID], "the step records add up to the session's")
	return wire, s, got
}

// TestAuditTreesAndScorecardMatchWire: as TestAuditTrainingMatchesWire
// for SecureBoost (each level's message carries a vector and a partial
// decryption per histogram, and the level's gaps; the histograms of g and
// h, two declared vectors, are two vectors or one that holds both) and the
// WOE scorecard
// (one message of event counts and its share, then the LR of its points):
// the logged counts are the vectors on the wire.
func TestAuditTreesAndScorecardMatchWire(t *testing.T) {
	if testing.Short() {
		t.Skip("federated SBT and WOE trainings: not in -short")
	}
	f := newFixtureWith(t, 300, 2, 4, auditYAML)

	wire, s, got := trainOverPipe(t, f, "sbt", "sbt: {trees: 2, depth: 2}")
	require.Equal(t, "boost", s.Protocol)
	declared := 0
	for _, parts := range wire.partsEach(boost.TypeHist) {
		// 2 parts a histogram vector, and the gaps: g's and h's sums in
		// two vectors (5 parts) or in one (3).
		require.Contains(t, []int{3, 5}, parts, "a level's histograms")
		declared += 2
	}
	require.Equal(t, map[string]int{stepGrantColumns: 1, boost.StepHistograms: declared}, got)
	require.Positive(t, got[boost.StepHistograms])

	// The scorecard's points come from an LR on the WOE values.
	wire, s, got = trainOverPipe(t, f, "woe", "lr: {epochs: 2}")
	require.Equal(t, "woe", s.Protocol)
	require.Equal(t, map[string]int{stepGrantColumns: 1, woe.StepCounts: wire.count(woe.TypeHist),
		vlr.StepScores: wire.count(vlr.TypeOpenScores), vlr.StepCenterGradient: wire.count(vlr.TypeOpenGradient),
		vlr.StepLoss: wire.count(joint.TypeSumShare), vlr.StepBankWeights: wire.count(vlr.TypeFinal)}, got)
	require.Equal(t, 1, got[woe.StepCounts])
	require.Equal(t, 2, got[vlr.StepLoss])
}

// TestAuditWithheld: nothing is revealed that the audit log could not
// record. With the log failing (closed under the center), a request is
// answered with an error instead of a grant; and a training whose log
// fails after the grant stops at its first disclosure: the bank's job
// fails with the center's reason, and the center stores no half.
func TestAuditWithheld(t *testing.T) {
	f := newFixtureWith(t, 300, 2, 4, auditYAML)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, f.center.audit.Close())
	_, err := f.askClose(t, "bank-a", trainReq("enterprises", "lr"))
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "cannot record the session")

	if testing.Short() {
		t.Skip("the rest runs a training's setup: not in -short")
	}
	g := newFixtureWith(t, 300, 2, 4, auditYAML)
	cfg := g.jobConfig(t, "bank-a", "lr", "lr: {epochs: 1}")
	spec, err := cfg.Spec()
	require.NoError(t, err)
	spec.Train, err = cfg.Data.Load(ctx)
	require.NoError(t, err)
	bankEnd, centerEnd := fl.NewPipe()
	served := make(chan error, 1)
	go func() { served <- g.center.handle(fl.WithPeerIdentity(ctx, fl.Identity{Name: "bank-a"}), centerEnd) }()
	_, err = ask(ctx, bankEnd, request{Version: requestVersion, Kind: KindTrain, Table: "enterprises", Model: "lr", Name: "sme-credit",
		ConfigDigest: cfg.Digest, Rows: spec.Train.Rows()})
	require.NoError(t, err)
	require.NoError(t, g.center.audit.Close()) // the disk goes away after the grant
	_, err = job.RunActive(ctx, bankEnd, spec)
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "could not be recorded")
	require.Error(t, <-served)
	list, err := g.center.reg.List()
	require.NoError(t, err)
	require.Empty(t, list, "no half stored")
}
