package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/mpc/psi"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/metrics"
	"github.com/veil-fl/veil/node/registry"
)

// DrainTimeout bounds how long Serve waits for running sessions after its
// ctx ends, when the session timeout is longer.
const DrainTimeout = 10 * time.Minute

// Center is the credit center's node: one long-lived server that many
// banks train and score against, each within its policy (config.Bank) and
// the center's limits (config.Limits).
type Center struct {
	cfg    *config.Center
	log    *slog.Logger
	reg    *registry.Registry
	limits config.Limits
	tlsID  *fl.TLSIdentity

	tables   atomic.Pointer[tableSet] // swapped by Reload; sessions keep theirs
	reloadMu sync.Mutex               // one Reload at a time

	mu        sync.Mutex
	running   int
	perBank   map[string]int
	trainings int
	draining  bool
	services  map[serviceKey]*score.Service
	psiMu     sync.Mutex
	psiStores map[string]*psi.CenterStore // by table (psiStore)

	srv  *link.Server
	lis  net.Listener
	addr net.Addr

	// audit is the audit log (nil without cfg.Audit); met the metrics,
	// served on metLis (nil without cfg.Metrics).
	audit  *audit.Log
	met    *metrics.Metrics
	metLis net.Listener
}

// tableSet is the center's tables as one load read them.
type tableSet struct {
	gen    int
	tables map[string]*dataset.Table
}

// NewCenter checks cfg's policy against its tables, loads the tables once,
// opens the registry and the center's certificate. It does not listen:
// Listen or Serve does.
func NewCenter(cfg *config.Center, log *slog.Logger) (*Center, error) {
	if cfg == nil {
		return nil, errors.New("node: no center config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Center{cfg: cfg, log: log, perBank: map[string]int{}, services: map[serviceKey]*score.Service{}}
	c.limits = withDefaults(cfg.Limits)
	if err := c.checkPolicy(); err != nil {
		return nil, err
	}
	var err error
	if c.tlsID, err = fl.LoadTLS(cfg.Cert, cfg.Key, cfg.CA); err != nil {
		return nil, fmt.Errorf("%s: the center's certificate: %w", cfg.File, err)
	}
	if c.reg, err = registry.Open(cfg.Registry); err != nil {
		return nil, fmt.Errorf("%s: registry: %w", cfg.File, err)
	}
	ts, err := c.loadTables(context.Background(), 1)
	if err != nil {
		return nil, err
	}
	if err := c.checkColumns(ts); err != nil {
		return nil, err
	}
	c.tables.Store(ts)
	if cfg.Metrics != "" {
		if c.met, err = metrics.New(metrics.Options{Banks: cfg.BankNames()}); err != nil {
			return nil, err
		}
	}
	if cfg.Audit != "" {
		// Last: the log stays locked until Close (or Serve's return).
		if c.audit, err = audit.Open(cfg.Audit, audit.Options{}); err != nil {
			return nil, fmt.Errorf("%s: audit: %w", cfg.File, err)
		}
		if err := closeUnfinished(c.audit, log); err != nil {
			_ = c.audit.Close()
			return nil, err
		}
		log.Info("audit log open", "path", cfg.Audit, "records", c.audit.Head().Seq, "head", c.audit.Head().Hash)
	}
	return c, nil
}

// Close closes the audit log (releasing its lock) and the listeners; Serve
// does it when it returns. It is idempotent.
func (c *Center) Close() error {
	if c.metLis != nil {
		_ = c.metLis.Close()
	}
	if c.audit != nil {
		return c.audit.Close()
	}
	return nil
}

// MetricsAddr is the address the metrics listen on (nil before Listen, or
// without cfg.Metrics).
func (c *Center) MetricsAddr() net.Addr {
	if c.metLis == nil {
		return nil
	}
	return c.metLis.Addr()
}

func withDefaults(l config.Limits) config.Limits {
	if l.Sessions <= 0 {
		l.Sessions = config.DefaultSessions
	}
	if l.PerBank <= 0 {
		l.PerBank = config.DefaultPerBank
	}
	if l.Trainings <= 0 {
		l.Trainings = config.DefaultTrainings
	}
	if l.Rows <= 0 {
		l.Rows = config.DefaultRows
	}
	if l.SessionTimeout <= 0 {
		l.SessionTimeout = config.DefaultSessionTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = config.DefaultIdleTimeout
	}
	return l
}

// checkPolicy checks that every bank's policy names tables, models and
// outputs that exist.
func (c *Center) checkPolicy() error {
	if len(c.cfg.Banks) == 0 {
		return fmt.Errorf("%s: banks: no bank: the center serves only the banks it names", c.cfg.File)
	}
	for _, name := range sortedKeys(c.cfg.Banks) {
		b := c.cfg.Banks[name]
		for _, t := range b.Tables {
			if _, ok := c.cfg.Tables[t]; !ok {
				return fmt.Errorf("%s: banks.%s.tables: no table %q in tables", c.cfg.File, name, t)
			}
		}
		for _, m := range b.Models {
			if !slices.Contains(config.Models, m) {
				return fmt.Errorf("%s: banks.%s.models: %q, want some of %v", c.cfg.File, name, m, config.Models)
			}
		}
		for _, o := range b.Outputs {
			if !slices.Contains(config.Outputs, o) {
				return fmt.Errorf("%s: banks.%s.outputs: %q, want some of %v", c.cfg.File, name, o, config.Outputs)
			}
		}
	}
	return nil
}

// checkColumns checks that each bank's columns are in each of its tables.
func (c *Center) checkColumns(ts *tableSet) error {
	for _, name := range c.cfg.BankNames() {
		if err := c.cfg.CheckColumns(name, ts.tables); err != nil {
			return err
		}
	}
	return nil
}

func (c *Center) loadTables(ctx context.Context, gen int) (*tableSet, error) {
	ts := &tableSet{gen: gen, tables: map[string]*dataset.Table{}}
	for _, name := range sortedKeys(c.cfg.Tables) {
		start := time.Now()
		t, err := c.cfg.Tables[name].Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: tables.%s: %w", c.cfg.File, name, err)
		}
		if t.Rows() == 0 {
			return nil, fmt.Errorf("%s: tables.%s: no rows", c.cfg.File, name)
		}
		if t.Labels != nil {
			// The center holds no labels; a table with one is a mistake.
			return nil, fmt.Errorf("%s: tables.%s: the table has a label column: the center's tables hold none", c.cfg.File, name)
		}
		if err := checkIDs(t); err != nil {
			return nil, fmt.Errorf("%s: tables.%s: %w", c.cfg.File, name, err)
		}
		ts.tables[name] = t
		c.log.Info("table loaded", "table", name, "rows", t.Rows(), "columns", t.Cols(), "seconds", time.Since(start).Seconds())
	}
	return ts, nil
}

// checkIDs refuses empty or repeated ids, which the private alignment
// cannot take; the error, the operator's, names the row.
func checkIDs(t *dataset.Table) error {
	seen := make(map[string]int, t.Rows())
	for i, id := range t.IDs {
		if id == "" {
			return fmt.Errorf("empty id at row %d", i)
		}
		if j, ok := seen[id]; ok {
			return fmt.Errorf("id %q repeated at rows %d and %d", id, j, i)
		}
		seen[id] = i
	}
	return nil
}

// Reload reads the tables' sources again and swaps them in for new
// sessions; running sessions keep the tables they started with. On an
// error the old tables stay.
func (c *Center) Reload(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	old := c.tables.Load()
	ts, err := c.loadTables(ctx, old.gen+1)
	if err != nil {
		return err
	}
	if err := c.checkColumns(ts); err != nil {
		return err
	}
	c.tables.Store(ts)
	c.mu.Lock()
	// Scoring services hold the old tables' encodings (and the day's
	// quotas): new sessions get new ones.
	clear(c.services)
	c.mu.Unlock()
	c.log.Info("tables reloaded", "generation", ts.gen)
	return nil
}

// Listen binds cfg.Listen with the center's mutual TLS; Serve calls it if
// the caller did not. Addr is the bound address after it.
func (c *Center) Listen() error {
	if c.lis != nil {
		return nil
	}
	srv, err := link.NewServer(c.handle, link.GRPCOptions{TLS: c.tlsID.ServerTLS(c.cfg.BankNames()...), Logger: c.log})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen %s: %w", c.cfg.File, c.cfg.Listen, err)
	}
	if c.met != nil {
		if c.metLis, err = net.Listen("tcp", c.cfg.Metrics); err != nil {
			_ = lis.Close()
			return fmt.Errorf("%s: metrics: listen %s: %w", c.cfg.File, c.cfg.Metrics, err)
		}
	}
	c.srv, c.lis, c.addr = srv, lis, lis.Addr()
	return nil
}

// Addr is the address the center listens on (nil before Listen).
func (c *Center) Addr() net.Addr { return c.addr }

// Serve serves sessions until ctx ends, then refuses new ones and waits
// for the running ones to finish (each within the session timeout), and
// returns.
func (c *Center) Serve(ctx context.Context) error {
	if err := c.Listen(); err != nil {
		return err
	}
	defer c.Close()
	c.log.Info("center listening", "addr", c.addr.String(), "banks", len(c.cfg.Banks), "tables", len(c.cfg.Tables))
	if c.metLis != nil {
		// The metrics outlive the drain below: a scrape shows the sessions
		// ending.
		mctx, stop := context.WithCancel(context.Background())
		defer stop()
		go func() {
			if err := c.met.Serve(mctx, c.metLis); err != nil {
				c.log.Error("metrics listener stopped", "err", err)
			}
		}()
		c.log.Info("metrics listening", "addr", c.metLis.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- c.srv.Serve(c.lis) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.draining = true
	running := c.running
	c.mu.Unlock()
	c.log.Info("center draining", "running", running)
	drain := min(c.limits.SessionTimeout, DrainTimeout) + 5*time.Second
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := c.srv.Shutdown(dctx)
	<-served
	c.log.Info("center stopped")
	return err
}

// serviceKey names a scoring service: one per bank, model half, output
// and generation of the tables.
type serviceKey struct {
	bank, name string
	version    int
	output     string
	approve    int
	gen        int
	flags      string // the flags disclosed, comma-separated
}

// handle serves one session: the request, the policy and limits, then a
// training or a scoring.
func (c *Center) handle(ctx context.Context, t fl.Transport) error {
	ctx, cancel := context.WithTimeout(ctx, c.limits.SessionTimeout)
	defer cancel()
	// Until granted, no message may exceed a request's size, and a bank
	// that stalls loses the session after the idle timeout.
	fl.SetMessageLimit(t, maxRequestBytes+1<<10)
	idle := fl.WithIdleTimeout(t, c.limits.IdleTimeout)
	id, ok := fl.PeerIdentity(ctx)
	log := c.log.With("bank", id.Name)
	b, err := fl.Expect(ctx, idle, TypeRequest)
	if err != nil {
		log.Warn("session ended before its request", "err", err)
		return err
	}
	req, err := decodeRequest(b)
	if err != nil {
		log.Warn("malformed request", "err", err)
		c.refused(id.Name, reasonMalformed)
		return fl.Fail(ctx, idle, err)
	}
	log = log.With("kind", req.Kind, "model", req.Model, "name", req.Name)
	if !ok {
		c.refused("", reasonUnknown)
		return c.refuse(ctx, idle, log, refused("banks", "the session carries no verified client certificate"))
	}
	bank, ok := c.cfg.Banks[id.Name]
	if !ok {
		c.refused(id.Name, reasonUnknown)
		return c.refuse(ctx, idle, log, refused("banks", "no bank %q in the center's banks", id.Name))
	}
	ts := c.tables.Load()
	var s session
	switch req.Kind {
	case KindTrain:
		s, err = c.trainSession(id.Name, bank, ts, req)
	default:
		s, err = c.scoreSession(id.Name, bank, ts, req)
	}
	if err != nil {
		var perr *PolicyError
		if errors.As(err, &perr) {
			c.refused(id.Name, reasonOf(perr))
			return c.refuse(ctx, idle, log, perr)
		}
		log.Error("session setup failed", "err", err)
		return fl.Fail(ctx, idle, errors.New("node: the center cannot serve the request (the reason is in its log)"))
	}
	release, perr := c.admit(id.Name, req.Kind == KindTrain)
	if perr != nil {
		c.refused(id.Name, reasonOf(perr))
		return c.refuse(ctx, idle, log, perr)
	}
	defer release()
	// The session's accounting (record): its begin record, then a step
	// record for each value revealed to the bank, each fsync'd before the
	// value leaves (the grant's counts here; the protocols' decryptions as
	// their plans, taken up with the context rec.observe returns, admit
	// them), and the session record before its result is released.
	rec, err := startRecord(c.audit, c.met, log, fl.RolePassive, CenterName, id.Name, req.Kind, c.begin(s, req, newSessionID(), peerOf(id)))
	if err != nil {
		log.Error("session not started", "err", err)
		return fl.Fail(ctx, idle, errors.New("node: the center cannot record the session (the reason is in its log)"))
	}
	log = rec.log
	if err := rec.disclose(granted(s, id.Name)); err != nil {
		_ = rec.end(ctx, err, t.Stats())
		return fl.Fail(ctx, idle, errors.New("node: the center cannot record the session (the reason is in its log)"))
	}
	if err := sendReply(ctx, idle, nil, s.grant()); err != nil {
		_ = rec.end(ctx, err, t.Stats())
		return err
	}
	octx := rec.observe(ctx) // the protocols' plans report to rec
	if r, ok := s.(recordedSession); ok {
		err = r.runRecorded(octx, t, log, rec)
	} else {
		err = s.run(octx, t, log)
	}
	if rerr := rec.end(ctx, err, t.Stats()); err == nil {
		err = rerr
	}
	return err
}

// session is a granted session's work.
type session interface {
	grant() reply
	run(ctx context.Context, t fl.Transport, log *slog.Logger) error
}

// recordedSession is a session that releases a result after its protocol
// (a training's stored half): it writes its session record (rec.end)
// before it does. A session record of any other is written when run
// returns: a scoring releases nothing after, and each value it revealed
// is in a step record already.
type recordedSession interface {
	runRecorded(ctx context.Context, t fl.Transport, log *slog.Logger, rec *record) error
}

// refused counts a refusal in the metrics.
func (c *Center) refused(bank, reason string) {
	if c.met != nil {
		c.met.Refused(bank, reason)
	}
}

// reasonOf is a policy error's refusal reason in the metrics.
func reasonOf(perr *PolicyError) string {
	switch perr.Code {
	case codeBusy:
		return reasonBusy
	case codeMismatch:
		return reasonMismatch
	}
	return reasonPolicy
}

// refuse tells the bank why its request is refused and ends the session.
func (c *Center) refuse(ctx context.Context, t fl.Transport, log *slog.Logger, perr *PolicyError) error {
	log.Warn("request refused", "err", perr)
	if err := sendReply(ctx, t, perr, reply{}); err != nil {
		return err
	}
	return nil
}

// admit takes a session slot of the bank's, or says which limit is full.
func (c *Center) admit(bank string, training bool) (release func(), perr *PolicyError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	perBank, rule := c.limits.PerBank, "limits.per_bank"
	if b := c.cfg.Banks[bank]; b.MaxSessions > 0 && b.MaxSessions < perBank {
		perBank, rule = b.MaxSessions, "banks."+bank+".max_sessions"
	}
	switch {
	case c.draining:
		return nil, busy("center", "the center is shutting down")
	case c.running >= c.limits.Sessions:
		return nil, busy("limits.sessions", "%d sessions running", c.running)
	case c.perBank[bank] >= perBank:
		return nil, busy(rule, "%d sessions of %s running", c.perBank[bank], bank)
	case training && c.trainings >= c.limits.Trainings:
		return nil, busy("limits.trainings", "%d trainings running", c.trainings)
	}
	c.running++
	c.perBank[bank]++
	if training {
		c.trainings++
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.running--
		c.perBank[bank]--
		if training {
			c.trainings--
		}
	}, nil
}

// maxRows is the rows a bank's session may hold, and the rule that says so.
func (c *Center) maxRows(bank string) (int, string) {
	if b := c.cfg.Banks[bank]; b.MaxRows > 0 && b.MaxRows < c.limits.Rows {
		return b.MaxRows, "banks." + bank + ".max_rows"
	}
	return c.limits.Rows, "limits.rows"
}

// policyColumns returns t restricted to the bank's columns (all when its
// policy names none), in the table's order.
func policyColumns(t *dataset.Table, cols []string) (*dataset.Table, error) {
	if len(cols) == 0 {
		return t, nil
	}
	idx := make([]int, 0, len(cols))
	for j, name := range t.Columns {
		if slices.Contains(cols, name) {
			idx = append(idx, j)
		}
	}
	if len(idx) != len(cols) {
		return nil, fmt.Errorf("the table %s lacks some of the columns %v", t.Name, cols)
	}
	return selectColumns(t, idx), nil
}

// trainable returns the columns a bank's policy lets it train on: its
// columns, or when it lists none every column of the table but the flag
// columns (tables.NAME.flags). A model trained on a flag would carry it
// into scores the center helps compute for every enterprise, not only the
// whitelisted ones; a center that wants it listed names it in columns.
func trainable(t *dataset.Table, policy []string, tc config.Table) []string {
	if len(policy) > 0 || len(tc.Flags) == 0 {
		return policy
	}
	var cols []string
	for _, name := range t.Columns {
		if !isFlagColumn(tc, name) {
			cols = append(cols, name)
		}
	}
	return cols
}

func isFlagColumn(tc config.Table, name string) bool {
	for _, col := range tc.Flags {
		if col == name {
			return true
		}
	}
	return false
}

// namedColumns returns t with the named columns, in that order.
func namedColumns(t *dataset.Table, names []string) (*dataset.Table, error) {
	idx := make([]int, len(names))
	for k, n := range names {
		j, ok := t.ColumnIndex(n)
		if !ok {
			return nil, fmt.Errorf("the model's column %q is not in the table %s", n, t.Name)
		}
		idx[k] = j
	}
	return selectColumns(t, idx), nil
}

// selectColumns returns t with the given columns, in that order, and their
// dictionaries (rows, ids and labels shared).
func selectColumns(t *dataset.Table, cols []int) *dataset.Table {
	out := &dataset.Table{Name: t.Name, IDs: t.IDs, Labels: t.Labels, X: make([]float64, t.Rows()*len(cols))}
	for k, c := range cols {
		out.Columns = append(out.Columns, t.Columns[c])
		if t.IsCategorical(c) {
			if out.Categories == nil {
				out.Categories = make([][]string, len(cols))
			}
			out.Categories[k] = t.Categories[c]
		}
	}
	d := t.Cols()
	for i := range t.Rows() {
		for j, c := range cols {
			out.X[i*len(cols)+j] = t.X[i*d+c]
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func hexDigest(d [32]byte) string { return hex.EncodeToString(d[:]) }
