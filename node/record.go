package node

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/metrics"
	"github.com/veil-fl/veil/node/registry"
)

// CenterName is how the center's audit records name the center as a
// receiver of disclosures ("to center: ...").
const CenterName = "center"

// Refusal reasons of veil_sessions_refused_total: a fixed vocabulary, never
// a bank's rule text, so that the series stay bounded.
const (
	reasonPolicy    = "policy"       // outside the bank's policy
	reasonBusy      = "busy"         // a limit of sessions at once
	reasonMismatch  = "mismatch"     // no center half of that model and training
	reasonUnknown   = "unknown-bank" // a certificate the config does not name
	reasonMalformed = "malformed"    // a request that does not parse
)

// Steps of the node's own disclosures (the grant's), beside the
// protocols' (joint.Disclosure.Step).
const (
	stepGrantColumns = "node.grant-columns" // how many center columns a training uses
	stepGrantGrades  = "node.grant-grades"  // the scoring's grade cut points
)

// newSessionID is a session's id in the node's logs: 16 random bytes in
// hex, naming nothing of the data.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24)
	return hex.EncodeToString(b[:])
}

// record is one session's accounting at a node: its audit records (a
// begin, a step record for each disclosure as the plan admits it, before
// the value leaves this node, and the session record at the end), its
// metrics and its structured log lines (start and end, with the session
// id; never data).
//
// The disclosures come from the joint-decryption plans' admissions
// (joint.WithObserver, carried by the session's context from observe into
// every plan its protocols take up), plus the node's own grant (a count
// of columns, the grade cut points): what the peer learns, counted where
// it is revealed.
type record struct {
	audit    *audit.Log // nil: no audit log
	met      *metrics.Session
	log      *slog.Logger
	self     string  // this node's name as a receiver ("center", or the bank's)
	peer     string  // the peer's name as a receiver
	selfRole fl.Role // this node's role in the protocols
	begin    audit.Begin
	kind     string // the request's kind (train, score)
	start    time.Time
	tally    audit.Tally
	// dmu orders disclose's calls: the plans of a session may admit from
	// several goroutines, and each value may leave only once its own step
	// record is on disk.
	dmu sync.Mutex

	mu    sync.Mutex
	rows  int
	ended bool
	err   error // the session record's append
}

// startRecord writes the session's begin record and its start line.
func startRecord(al *audit.Log, met *metrics.Metrics, log *slog.Logger, selfRole fl.Role, self, peer, kind string, b audit.Begin) (*record, error) {
	r := &record{audit: al, log: log.With("session", b.ID), self: self, peer: peer, selfRole: selfRole, begin: b, kind: kind,
		start: time.Now()}
	if al != nil {
		if _, err := al.Append(b); err != nil {
			return nil, fmt.Errorf("node: audit log: session %s's begin: %w", b.ID, err)
		}
	}
	if met != nil {
		r.met = met.SessionStarted(peer, kind)
	}
	r.log.Info("session start", "protocol", b.Protocol, "model", b.Model, "table", b.Table)
	return r, nil
}

// observe returns ctx carrying the record as the observer of the plans
// taken up with it (joint.WithObserver): the session's protocols, run
// with the returned context, have every admission recorded, from any
// goroutine.
func (r *record) observe(ctx context.Context) context.Context {
	return joint.WithObserver(ctx, func(a joint.Admission) error { return r.disclose(r.disclosure(a)) })
}

// disclosure is an admission as the audit log counts it.
func (r *record) disclosure(a joint.Admission) audit.Disclosure {
	to := r.peer
	if a.To == r.selfRole {
		to = r.self
	}
	d := audit.Disclosure{To: to, Step: a.Step, What: a.What, Count: 1, Values: int64(a.Len), Masked: a.Masked}
	switch {
	case a.Undecrypted:
		// Revealed without decryption, one value a record (bands): count
		// the values.
		d.Count = a.Len
	case a.FixedLen:
		d.Shape = []int{a.Len}
	}
	return d
}

// disclose counts d and writes it as a step record, fsync'd before it
// returns: the caller reveals the value only after a nil return.
func (r *record) disclose(d audit.Disclosure) error {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	r.tally.Add(d)
	if r.audit == nil {
		return nil
	}
	if _, err := r.audit.Append(audit.Step{Session: r.begin.ID, Disclosures: r.tally.Flush()}); err != nil {
		r.log.Error("audit log: a disclosure could not be recorded; it is refused", "step", d.Step, "err", err)
		// The error reaches the peer as the abort's reason: the log's
		// path and failure stay in this node's log.
		return errors.New("node: the audit log failed (the reason is in the node's log)")
	}
	return nil
}

// setRows records the rows the session worked on (aligned, for a
// training).
func (r *record) setRows(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rows = n
	r.mu.Unlock()
}

// end writes the session record (fsync'd), ends its metrics and logs its
// end, once; later calls return the first's error. err is the session's
// error (nil: its result is about to be released); st the transport's
// traffic. A nil record writes nothing.
func (r *record) end(ctx context.Context, err error, st fl.Stats) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return r.err
	}
	r.ended = true
	total := r.tally.Total()
	rows := r.rows
	if rows == 0 {
		rows = scored(total)
	}
	outcome, mOutcome := outcomeOf(ctx, err)
	dur := time.Since(r.start)
	if r.audit != nil {
		s := audit.Session{Begin: r.begin, Rows: rows, Disclosures: total, BytesSent: st.SentBytes, BytesReceived: st.RecvBytes,
			Duration: dur, Outcome: outcome}
		if err != nil {
			s.Error = err.Error()
		}
		if _, aerr := r.audit.Append(s); aerr != nil {
			r.err = fmt.Errorf("node: audit log: session %s's record: %w", r.begin.ID, aerr)
			r.log.Error("audit log: the session's record could not be written; its result is withheld", "err", aerr)
			outcome, mOutcome = audit.OutcomeError, metrics.OutcomeError
		}
	}
	if r.met != nil {
		r.met.End(metrics.Result{Outcome: mOutcome, BytesSent: st.SentBytes, BytesReceived: st.RecvBytes, RowsScored: scored(total)})
	}
	attrs := []any{"outcome", outcome, "seconds", dur.Seconds(), "rows", rows, "bytes_sent", st.SentBytes, "bytes_received", st.RecvBytes}
	if err != nil {
		r.log.Warn("session end", append(attrs, "err", err)...)
	} else {
		r.log.Info("session end", attrs...)
	}
	return r.err
}

// scored is the rows a scoring revealed a band or score of.
func scored(ds []audit.Disclosure) int {
	n := int64(0)
	for _, d := range ds {
		if d.Step == score.StepScores || d.Step == score.StepBands {
			n += d.Values
		}
	}
	return int(n)
}

// outcomeOf classifies a session's error for the audit log and the
// metrics.
func outcomeOf(ctx context.Context, err error) (string, string) {
	switch {
	case err == nil:
		return audit.OutcomeOK, metrics.OutcomeOK
	case errors.Is(err, fl.ErrPeerAborted), errors.Is(err, fl.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return audit.OutcomeAborted, metrics.OutcomeAborted
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return audit.OutcomeAborted, metrics.OutcomeCanceled
	}
	return audit.OutcomeError, metrics.OutcomeError
}

// closeUnfinished ends the sessions a previous run of the node began and
// never ended (it was killed) with aborted session records, carrying what
// their step records say they disclosed.
func closeUnfinished(al *audit.Log, log *slog.Logger) error {
	for _, u := range al.Unfinished() {
		s := audit.Session{Begin: u.Begin, Disclosures: u.Disclosures, Outcome: audit.OutcomeAborted,
			Error: "the node stopped during the session (closed when it restarted)"}
		if _, err := al.Append(s); err != nil {
			return fmt.Errorf("node: audit log %s: closing session %s: %w", al.Path(), u.Begin.ID, err)
		}
		log.Warn("audit: closed a session the node's previous run left unfinished", "session", u.Begin.ID, "bank", u.Begin.Peer.Name, "began", u.Time)
	}
	return nil
}

// peerOf is the session's peer in audit records.
func peerOf(id fl.Identity) audit.Peer {
	p := audit.Peer{Name: id.Name}
	if id.Fingerprint != ([32]byte{}) {
		p.Fingerprint = hex.EncodeToString(id.Fingerprint[:])
	}
	return p
}

// protocolOf names a model kind's training protocol in audit records.
func protocolOf(kind string) string {
	switch kind {
	case "lr":
		return "vlr"
	case "sbt":
		return "boost"
	}
	return kind
}

// begin is a granted session's begin record: the center's table and the
// names of its columns the session uses (the bank learns their count
// only), the model's registry name and the protocol.
func (c *Center) begin(s session, req *request, id string, peer audit.Peer) audit.Begin {
	b := audit.Begin{ID: id, Peer: peer, Model: req.Name}
	switch r := s.(type) {
	case *trainRun:
		b.Protocol, b.Table, b.Columns = protocolOf(req.Model), req.Table, r.table.Columns
	case *scoreRun:
		b.Protocol = "score"
		// The half's entry says which table and columns it scores on.
		if meta, err := c.reg.Get(peer.Name, req.Name, req.ModelVersion); err == nil {
			b.Table, b.Columns = meta.Table, meta.Columns
		}
	}
	return b
}

// granted is what a session's grant reveals to the bank: for a training
// how many of the center's columns it uses, for a scoring the grade cut
// points.
func granted(s session, bank string) audit.Disclosure {
	switch r := s.(type) {
	case *trainRun:
		return audit.Disclosure{To: bank, Step: stepGrantColumns, What: "how many of the center's columns the training uses", Count: 1, Values: 1}
	case *scoreRun:
		n := len(r.grades)
		return audit.Disclosure{To: bank, Step: stepGrantGrades, What: "the scoring's grade cut points", Count: 1, Values: int64(n), Shape: []int{n}}
	}
	return audit.Disclosure{To: bank, Step: "node.grant", Count: 1}
}

// openBankAudit opens a bank's own audit log at path ("" for none) and
// closes the sessions a killed run left unfinished.
func openBankAudit(path string, log *slog.Logger) (*audit.Log, error) {
	if path == "" {
		return nil, nil
	}
	al, err := audit.Open(path, audit.Options{})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := closeUnfinished(al, log); err != nil {
		_ = al.Close()
		return nil, err
	}
	return al, nil
}

// selfName is the name in a bank's certificate ("bank" if it cannot be
// read): how its audit records name it as a receiver.
func selfName(opts link.GRPCOptions) string {
	if opts.TLS != nil && len(opts.TLS.Certificates) > 0 && len(opts.TLS.Certificates[0].Certificate) > 0 {
		if c, err := x509.ParseCertificate(opts.TLS.Certificates[0].Certificate[0]); err == nil {
			return fl.IdentityOf(c).Name
		}
	}
	return "bank"
}

// bankScoring is a bank's scoring session's accounting (score.yaml
// audit:): its record, and the log it opened.
type bankScoring struct {
	rec *record
	al  *audit.Log
}

// startScoring opens the bank's audit log (if cfg names one) and begins
// the scoring's record, and returns ctx carrying its observer, which the
// scoring must run with (a scoring reveals nothing of the bank's by
// decryption: its plans declare nothing to the center, which the record
// shows).
func startScoring(ctx context.Context, cfg *config.Score, opts link.GRPCOptions, meta registry.Meta, log *slog.Logger) (*bankScoring, context.Context, error) {
	al, err := openBankAudit(cfg.Audit, log)
	if err != nil {
		return nil, ctx, fmt.Errorf("%s: %w", cfg.File, err)
	}
	rec, err := startRecord(al, nil, log, fl.RoleActive, selfName(opts), cfg.CenterName, KindScore, audit.Begin{ID: newSessionID(),
		Peer: audit.Peer{Name: cfg.CenterName}, Protocol: "score", Model: meta.Name, Table: meta.Table, Columns: meta.Columns})
	if err != nil {
		if al != nil {
			_ = al.Close()
		}
		return nil, ctx, err
	}
	return &bankScoring{rec: rec, al: al}, rec.observe(ctx), nil
}

// finish writes the scoring's session record (rows: the records scored)
// before the bank writes its result, and returns err, or the record's
// error.
func (b *bankScoring) finish(ctx context.Context, err error, st fl.Stats, res *score.Scored) error {
	if res != nil {
		b.rec.setRows(len(res.IDs))
	}
	if rerr := b.rec.end(ctx, err, st); err == nil {
		err = rerr
	}
	return err
}

// close ends the record if finish did not (an error), and closes the log.
func (b *bankScoring) close(ctx context.Context, st fl.Stats) {
	_ = b.rec.end(ctx, errors.New("node: the scoring ended early"), st)
	if b.al != nil {
		_ = b.al.Close()
	}
}
