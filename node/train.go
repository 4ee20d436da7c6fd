package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// halfFile names a half's file in a registry entry: the job's names
// (Spec.Dir), by the party's role and the model.
func halfFile(role fl.Role, kind string) string {
	if kind == string(job.WOE) {
		kind = "scorecard"
	}
	return string(role) + "_" + kind + ".json"
}

// digestRE is a hex SHA-256.
var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// trainRun is a granted training session at the center.
type trainRun struct {
	c       *Center
	bank    string
	req     *request
	table   *dataset.Table // restricted to the policy's columns
	maxRows int
}

func (r *trainRun) grant() reply { return reply{Columns: r.table.Cols()} }

// trainSession checks a training request against the bank's policy.
func (c *Center) trainSession(bank string, pol config.Bank, ts *tableSet, req *request) (session, error) {
	if !slices.Contains(pol.Tables, req.Table) {
		return nil, refused(c.cfg.Rule(bank, "tables"), "%s may not train on table %q", bank, req.Table)
	}
	if !slices.Contains(pol.Models, req.Model) {
		return nil, refused(c.cfg.Rule(bank, "models"), "%s may not train %s", bank, req.Model)
	}
	maxRows, rule := c.maxRows(bank)
	if req.Rows > maxRows {
		return nil, refused(rule, "%d rows, at most %d a session", req.Rows, maxRows)
	}
	if req.ConfigDigest != "" && !digestRE.MatchString(req.ConfigDigest) {
		return nil, fmt.Errorf("%w: %s: config digest %q", fl.ErrMalformed, TypeRequest, req.ConfigDigest)
	}
	t, ok := ts.tables[req.Table]
	if !ok {
		return nil, fmt.Errorf("node: table %q of the policy is not loaded", req.Table)
	}
	t, err := policyColumns(t, trainable(t, pol.Columns, c.cfg.Tables[req.Table]))
	if err != nil {
		return nil, err
	}
	return &trainRun{c: c, bank: bank, req: req, table: t, maxRows: maxRows}, nil
}

func (r *trainRun) run(ctx context.Context, t fl.Transport, log *slog.Logger) error {
	return r.runRecorded(ctx, t, log, nil)
}

// runRecorded runs the center's side of the job, stores its half, writes
// the session's record and tells the bank the version. The order: the
// center's half goes into its registry first, then the session record
// (fsync'd), then the bank hears the version. A half is usable only with
// the bank's, which the bank stores only once it hears the version: a
// crash before the record leaves an unpaired half and a session the log
// closes as aborted at the restart; a failed record withholds the version
// (the bank's training fails, and stores nothing). So the log never shows
// a session less than what the bank obtained.
func (r *trainRun) runRecorded(ctx context.Context, t fl.Transport, log *slog.Logger, rec *record) error {
	// The job's messages (ciphertexts) are large; its alignment bounds the
	// bank's ids (MaxPeerRows).
	fl.SetMessageLimit(t, link.DefaultMaxMessageSize)
	kind := job.Kind(r.req.Model)
	spec := job.Spec{Train: r.table, Models: []job.Kind{kind}, MaxPeerRows: r.maxRows, Logger: log, PSIStore: r.c.psiStore(r.req.Table)}
	if r.req.SeparateTest {
		// The bank's test ids are aligned against the same table.
		spec.Test = r.table
	}
	res, err := job.RunPassive(ctx, t, spec)
	if err != nil {
		return err
	}
	rec.setRows(res.RowsAligned)
	m := res.Model(kind)
	if m == nil {
		return fl.Fail(ctx, t, fmt.Errorf("node: the job returned no %s model", kind))
	}
	half, err := halfBytes(m, fl.RolePassive)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	meta := registry.Meta{Owner: r.bank, Name: r.req.Name, Kind: string(kind), Created: time.Now().UTC(), Training: m.Training,
		ConfigDigest: r.req.ConfigDigest, AlignedDigest: hexDigest(res.AlignedDigest), Peer: r.bank, Table: r.req.Table, Columns: r.table.Columns,
		Metrics: map[string]float64{"rows_aligned": float64(res.RowsAligned)}}
	addCard(meta.Metrics, m)
	meta, err = r.c.reg.Put(meta, map[string][]byte{halfFile(fl.RolePassive, string(kind)): half})
	if err != nil {
		log.Error("storing the center's half failed", "err", err)
		return fl.Fail(ctx, t, errors.New("node: the center could not store its half of the model (the reason is in its log)"))
	}
	log.Info("center's half stored", "version", meta.Version, "training", meta.Training)
	if err := rec.end(ctx, nil, t.Stats()); err != nil {
		return fl.Fail(ctx, t, errors.New("node: the center could not record the session (the reason is in its log)"))
	}
	return fl.SendJSON(ctx, t, TypeStored, stored{Version: meta.Version, Training: meta.Training})
}

// addCard records a scorecard's points scaling in a registry entry's
// metrics: scoring needs it at both parties.
func addCard(metrics map[string]float64, m *job.Model) {
	if m.Kind == job.WOE {
		metrics["base_points"], metrics["pdo"], metrics["base_odds"] = m.Card.BasePoints, m.Card.PDO, m.Card.BaseOdds
	}
}

// cardOf is the scorecard scaling addCard recorded.
func cardOf(meta registry.Meta) model.Scorecard {
	return model.Scorecard{BasePoints: meta.Metrics["base_points"], PDO: meta.Metrics["pdo"], BaseOdds: meta.Metrics["base_odds"]}
}

// halfBytes is a party's half of m as its file holds it.
func halfBytes(m *job.Model, role fl.Role) ([]byte, error) {
	var buf bytes.Buffer
	var s interface{ Save(io.Writer) error }
	switch {
	case m.Kind == job.LR && m.LRHalf != nil:
		s = m.LRHalf
	case m.Kind == job.SBT && role == fl.RoleActive && m.SBTActive != nil:
		s = m.SBTActive
	case m.Kind == job.SBT && role == fl.RolePassive && m.SBTPassive != nil:
		s = m.SBTPassive
	case m.Kind == job.WOE && m.Scorecard != nil:
		s = m.Scorecard
	default:
		return nil, fmt.Errorf("node: the job's %s model has no half", m.Kind)
	}
	if err := s.Save(&buf); err != nil {
		return nil, fmt.Errorf("node: encoding the %s half: %w", m.Kind, err)
	}
	return buf.Bytes(), nil
}

// TrainResult is what a bank's training gives: its registered half and
// the test metrics.
type TrainResult struct {
	Model string `json:"model"`
	Name  string `json:"name"`
	// Version is the version of the bank's half in its registry; the
	// center's half is under the same version when it was free at the bank.
	Version       int     `json:"version"`
	CenterVersion int     `json:"center_version"`
	AUC           float64 `json:"auc"`
	KS            float64 `json:"ks"`
	RowsAligned   int     `json:"rows_aligned"`
	// CenterColumns is how many of its columns the center trained with.
	CenterColumns int `json:"center_columns"`
	// TrainSeconds is the model's training (job.Model.TrainTime, as
	// examples/twoparty reports it), JobSeconds the whole job: alignment,
	// preparation, training and the test scoring.
	TrainSeconds  float64 `json:"train_seconds"`
	JobSeconds    float64 `json:"job_seconds"`
	BytesSent     uint64  `json:"bytes_sent"`
	BytesReceived uint64  `json:"bytes_received"`
	Training      string  `json:"training"`
}

// Train is the bank's side of a training with the center: it loads the
// job's data, dials the center, asks for the training (which the center
// grants or refuses by its policy), runs job.RunActive, and stores the
// bank's half in its registry under the version the center stored its own
// (the next free one if that is taken), with the test AUC and KS.
//
// With cfg.Audit the bank keeps its own audit log: the session's begin,
// a step record for each value its plans reveal to the center, fsync'd
// before it leaves, and the session record before the bank's half is
// stored.
func Train(ctx context.Context, cfg *config.Job, log *slog.Logger) (_ *TrainResult, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec, err := cfg.Spec()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	reg, err := registry.Open(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("%s: registry: %w", cfg.File, err)
	}
	if spec.Train, err = cfg.Data.Load(ctx); err != nil {
		return nil, fmt.Errorf("%s: data: %w", cfg.File, err)
	}
	rows := spec.Train.Rows()
	if cfg.Test != nil {
		if spec.Test, err = cfg.Test.Load(ctx); err != nil {
			return nil, fmt.Errorf("%s: test: %w", cfg.File, err)
		}
		rows = max(rows, spec.Test.Rows())
	}
	spec.Logger = log
	opts, err := cfg.GRPCOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	al, err := openBankAudit(cfg.Audit, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	if al != nil {
		defer al.Close()
	}
	spec.PSICache = openPSICache(cfg.PSICache, cfg.Table, cfg.CenterName, selfName(opts), log)
	t, err := link.Dial(ctx, cfg.Center, opts)
	if err != nil {
		return nil, fmt.Errorf("dialing the center at %s: %w", cfg.Center, err)
	}
	defer t.Close()
	req := request{Version: requestVersion, Kind: KindTrain, Table: cfg.Table, Model: cfg.Model, Name: cfg.Name,
		ConfigDigest: cfg.Digest, Rows: rows, SeparateTest: spec.Test != nil}
	rep, err := ask(ctx, t, req)
	if err != nil {
		return nil, err
	}
	log.Info("training granted", "model", cfg.Model, "table", cfg.Table, "center_columns", rep.Columns)
	rec, err := startRecord(al, nil, log, fl.RoleActive, selfName(opts), cfg.CenterName, KindTrain, audit.Begin{ID: newSessionID(),
		Peer: audit.Peer{Name: cfg.CenterName}, Protocol: protocolOf(cfg.Model), Model: cfg.Name, Table: cfg.Table,
		Columns: spec.Train.Columns, PeerColumns: rep.Columns})
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	defer func() { _ = rec.end(ctx, err, t.Stats()) }() // a no-op after the one below
	start := time.Now()
	res, err := job.RunActive(rec.observe(ctx), t, spec) // its plans' admissions recorded
	if err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	kind := job.Kind(cfg.Model)
	m := res.Model(kind)
	if m == nil {
		return nil, fmt.Errorf("node: the job returned no %s model", kind)
	}
	var st stored
	if err := fl.RecvJSON(ctx, t, TypeStored, &st); err != nil {
		return nil, fmt.Errorf("waiting for the center to store its half: %w", err)
	}
	if st.Training != m.Training || st.Version < 1 {
		return nil, fmt.Errorf("%w: the center stored training %s as version %d, this bank trained %s", ErrMismatch, st.Training, st.Version, m.Training)
	}
	half, err := halfBytes(m, fl.RoleActive)
	if err != nil {
		return nil, err
	}
	rec.setRows(res.RowsAligned)
	if err := rec.end(ctx, nil, t.Stats()); err != nil {
		return nil, err
	}
	meta := registry.Meta{Name: cfg.Name, Version: st.Version, Kind: cfg.Model, Created: time.Now().UTC(), Training: m.Training,
		ConfigDigest: cfg.Digest, AlignedDigest: hexDigest(res.AlignedDigest), Peer: cfg.CenterName, Table: cfg.Table, Columns: spec.Train.Columns,
		Metrics: map[string]float64{"auc": m.AUC, "ks": m.KS, "rows_aligned": float64(res.RowsAligned),
			"center_columns": float64(rep.Columns), "center_version": float64(st.Version)}}
	addCard(meta.Metrics, m)
	files := map[string][]byte{halfFile(fl.RoleActive, cfg.Model): half}
	put, err := reg.Put(meta, files)
	if errors.Is(err, registry.ErrExists) {
		log.Warn("the center's version is taken in this registry; storing under the next free one", "center_version", st.Version)
		meta.Version = 0
		put, err = reg.Put(meta, files)
	}
	if err != nil {
		return nil, fmt.Errorf("storing the bank's half: %w", err)
	}
	stats := t.Stats()
	return &TrainResult{Model: cfg.Model, Name: cfg.Name, Version: put.Version, CenterVersion: st.Version, AUC: m.AUC, KS: m.KS,
		RowsAligned: res.RowsAligned, CenterColumns: rep.Columns, TrainSeconds: m.TrainTime.Seconds(), JobSeconds: secs, BytesSent: stats.SentBytes,
		BytesReceived: stats.RecvBytes, Training: m.Training}, nil
}

// ask sends the request and returns the center's grant, or its refusal as
// an error matching ErrRefused or ErrBusy.
func ask(ctx context.Context, t fl.Transport, req request) (*reply, error) {
	if err := fl.SendJSON(ctx, t, TypeRequest, req); err != nil {
		return nil, fmt.Errorf("asking the center: %w", err)
	}
	b, err := fl.Expect(ctx, t, TypeReply)
	if err != nil {
		return nil, fmt.Errorf("waiting for the center's answer: %w", err)
	}
	rep, err := decodeReply(b)
	if err != nil && rep == nil {
		_ = fl.Abort(ctx, t, err)
	}
	return rep, err
}
