package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// scoreRun is a granted scoring session at the center: a score.Service
// of the bank's model half, shared by the bank's sessions of that half and
// output (its daily quotas with it).
type scoreRun struct {
	svc    *score.Service
	grades []float64
	batch  int
}

func (r *scoreRun) grant() reply { return reply{Grades: r.grades, BatchRows: r.batch} }

func (r *scoreRun) run(ctx context.Context, t fl.Transport, _ *slog.Logger) error {
	return r.svc.Handle(ctx, t)
}

// scoreSession checks a scoring request against the bank's policy and the
// center's half of the model, and finds (or builds) its service.
func (c *Center) scoreSession(bank string, pol config.Bank, ts *tableSet, req *request) (session, error) {
	if !slices.Contains(pol.Outputs, req.Output) {
		return nil, refused(c.cfg.Rule(bank, "outputs"), "%s may not ask for %s", bank, req.Output)
	}
	if !slices.Contains(pol.Models, req.Model) {
		return nil, refused(c.cfg.Rule(bank, "models"), "%s may not score with a %s model", bank, req.Model)
	}
	maxRows, rule := c.maxRows(bank)
	if req.Rows > maxRows {
		return nil, refused(rule, "%d rows, at most %d a session", req.Rows, maxRows)
	}
	meta, err := c.reg.Get(bank, req.Name, req.ModelVersion)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, &PolicyError{Code: codeMismatch, Rule: "registry",
			Reason: fmt.Sprintf("the center holds no half of %s's model %s version %d", bank, req.Name, req.ModelVersion)}
	}
	if err != nil {
		return nil, err
	}
	if meta.Training != req.Training || meta.Kind != req.Model {
		return nil, &PolicyError{Code: codeMismatch, Rule: "registry",
			Reason: fmt.Sprintf("the center's half of %s version %d is the %s model of training %s, the bank's the %s model of training %s: halves of different trainings make no model",
				req.Name, req.ModelVersion, meta.Kind, meta.Training, req.Model, req.Training)}
	}
	if !slices.Contains(pol.Tables, meta.Table) {
		return nil, refused(c.cfg.Rule(bank, "tables"), "%s may no longer use table %q, which the model was trained on", bank, meta.Table)
	}
	for _, col := range meta.Columns {
		if isFlagColumn(c.cfg.Tables[meta.Table], col) && !slices.Contains(pol.Columns, col) {
			// As for columns: the key only, never the center's column name.
			return nil, refused("tables."+meta.Table+".flags", "the model uses a flag column of the center's that %s's columns do not list", bank)
		}
	}
	if len(pol.Columns) > 0 {
		for _, col := range meta.Columns {
			if !slices.Contains(pol.Columns, col) {
				// The rule's key only: the policy's column names are the
				// center's, of which a bank learns the count alone.
				return nil, refused("banks."+bank+".columns", "the model uses a column of the center's that %s may no longer use", bank)
			}
		}
	}
	grades := c.cfg.Scoring.Grades
	if len(grades) == 0 {
		grades = config.DefaultGrades
	}
	if req.Output == OutputApprove {
		if req.Approve > len(grades) {
			return nil, refused("scoring.grades", "approve %d grades of the center's %d", req.Approve, len(grades)+1)
		}
		grades = grades[req.Approve-1 : req.Approve]
	}
	disclose, flagCols, err := c.flagsPolicy(bank, pol, meta.Table, req, len(grades))
	if err != nil {
		return nil, err
	}
	key := serviceKey{bank: bank, name: meta.Name, version: meta.Version, output: req.Output, approve: req.Approve, gen: ts.gen,
		flags: strings.Join(req.Flags, ",")}
	c.mu.Lock()
	svc := c.services[key]
	c.mu.Unlock()
	if svc == nil {
		if svc, err = c.newService(bank, meta, ts.tables[meta.Table], req.Output, grades, maxRows, disclose, flagCols); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if s, ok := c.services[key]; ok {
			svc = s
		} else if c.tables.Load().gen == ts.gen {
			c.services[key] = svc
		}
		c.mu.Unlock()
	}
	return &scoreRun{svc: svc, grades: grades, batch: c.cfg.Scoring.BatchRows}, nil
}

// flagsPolicy checks a scoring's request for the center's flags against
// the bank's policy (banks.NAME.flags, flag_grades) and the table's flag
// columns (tables.NAME.flags). It returns the release (nil: no flags
// asked) and the columns holding the flags, in the request's order. With
// band output the release cut is the boundary below grade Approve+1; with
// the approve output it is the one cut.
func (c *Center) flagsPolicy(bank string, pol config.Bank, table string, req *request, cuts int) (*score.Disclose, []string, error) {
	if len(req.Flags) == 0 {
		return nil, nil, nil
	}
	if req.Output == OutputScores {
		return nil, nil, refused(c.cfg.Rule(bank, "outputs"), "flags are disclosed with the bands or approve output only")
	}
	cols := make([]string, len(req.Flags))
	for i, f := range req.Flags {
		if !slices.Contains(pol.Flags, f) || slices.Contains(req.Flags[:i], f) {
			return nil, nil, refused(c.cfg.Rule(bank, "flags"), "%s may not receive the center's flag %q (or asks for it twice)", bank, f)
		}
		col := c.cfg.Tables[table].Flags[f]
		if col == "" {
			return nil, nil, refused("tables."+table+".flags", "the center holds no %q flag in table %q", f, table)
		}
		cols[i] = col
	}
	if req.Approve < 1 || req.Approve > pol.FlagGrades {
		return nil, nil, refused(c.cfg.Rule(bank, "flag_grades"), "flags for a whitelist of %d grades, %s's at most %d", req.Approve, bank, pol.FlagGrades)
	}
	at := req.Approve - 1
	if req.Output == OutputApprove {
		at = 0
	} else if at >= cuts {
		return nil, nil, refused("scoring.grades", "flags for a whitelist of %d grades of the center's %d: a whitelist of all grades discloses to all", req.Approve, cuts+1)
	}
	return &score.Disclose{At: at, Flags: slices.Clone(req.Flags)}, cols, nil
}

// flagValues reads the flag columns of the center's table: bit i of a
// row's value is set when column cols[i] is non-zero (a missing value is
// 0).
func flagValues(t *dataset.Table, cols []string) ([]uint64, error) {
	idx := make([]int, len(cols))
	for i, name := range cols {
		j, ok := t.ColumnIndex(name)
		if !ok {
			return nil, fmt.Errorf("node: the flag column %q is not in the table %s", name, t.Name)
		}
		idx[i] = j
	}
	d := t.Cols()
	v := make([]uint64, t.Rows())
	for r := range v {
		for i, j := range idx {
			if x := t.X[r*d+j]; x != 0 && !math.IsNaN(x) {
				v[r] |= 1 << i
			}
		}
	}
	return v, nil
}

// newService builds the scoring service of one half of the bank's, on the
// columns it was trained on, disclosing the flags of flagCols (nil: none).
func (c *Center) newService(bank string, meta registry.Meta, t *dataset.Table, output string, grades []float64, maxRows int,
	disclose *score.Disclose, flagCols []string) (*score.Service, error) {
	if t == nil {
		return nil, fmt.Errorf("node: the model's table is not loaded")
	}
	var flags []uint64
	if disclose != nil {
		var err error
		if flags, err = flagValues(t, flagCols); err != nil {
			return nil, err
		}
	}
	t, err := namedColumns(t, meta.Columns)
	if err != nil {
		return nil, err
	}
	cuts, err := score.ProbabilityCuts(grades)
	if err != nil {
		return nil, err
	}
	opt := score.Options{Output: score.Bands, Cuts: cuts, BatchRows: c.cfg.Scoring.BatchRows, Disclose: disclose}
	if output == OutputScores {
		opt.Output = score.Scores
	}
	svc := &score.Service{Table: t, Options: opt, Flags: flags, MaxSessions: c.limits.Sessions, PSIStore: c.psiStore(meta.Table),
		SessionTimeout: c.limits.SessionTimeout, IdleTimeout: c.limits.IdleTimeout, Logger: c.log,
		// The node enforces the sessions at once; the service its daily
		// quotas, with the rows the node allows.
		Banks: map[string]score.Quota{bank: {Sessions: c.limits.Sessions, IDs: maxRows}}}
	b, err := c.reg.ReadFile(meta, halfFile(fl.RolePassive, meta.Kind))
	if err != nil {
		return nil, err
	}
	switch meta.Kind {
	case string(job.LR):
		svc.LR, err = model.LoadLRHalf(bytes.NewReader(b))
	case string(job.SBT):
		svc.Trees, err = boost.LoadPassiveModel(bytes.NewReader(b))
	case string(job.WOE):
		// The training id covers the scaling (job's options digest): the
		// bank's half of this training was built on the same.
		svc.Card = cardOf(meta)
		svc.Scorecard, err = model.LoadScorecardHalf(bytes.NewReader(b))
	default:
		err = fmt.Errorf("node: no scoring service for a %s model", meta.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s/%s/%d: %w", bank, meta.Name, meta.Version, err)
	}
	if err := svc.Prepare(); err != nil {
		return nil, err
	}
	return svc, nil
}

// ScoreResult is what a bank's scoring gives.
type ScoreResult struct {
	Model   string `json:"model"`
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	Output  string `json:"output"`
	// Rows are the bank's enterprises, Scored those the center knows too,
	// Whitelisted those pre-approved.
	Rows        int `json:"rows"`
	Scored      int `json:"scored"`
	Whitelisted int `json:"whitelisted"`
	// FlagsDisclosed is how many enterprises' flags the center released
	// (the whitelisted ones, each with the score.yaml's flags): the bank's
	// count of the disclosure, which its audit log may record.
	FlagsDisclosed int     `json:"flags_disclosed,omitempty"`
	Grades         []int   `json:"grades"` // enterprises per grade, A first
	Seconds        float64 `json:"seconds"`
	BytesSent      uint64  `json:"bytes_sent"`
	BytesRecv      uint64  `json:"bytes_received"`
	Out            string  `json:"out"`
}

// Score is the bank's side of a scoring with the center: it loads its
// registered half of cfg.Model (the latest version unless cfg.Version),
// asks the center for a session (which checks its policy and that its
// half is of the same training), scores cfg.Data's enterprises that the
// center knows too, and writes grades.csv and whitelist.csv into cfg.Out.
func Score(ctx context.Context, cfg *config.Score, log *slog.Logger) (*ScoreResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg, err := registry.Open(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("%s: registry: %w", cfg.File, err)
	}
	meta, err := reg.Get("", cfg.Model, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: model: %w", cfg.File, err)
	}
	hb, err := reg.ReadFile(meta, halfFile(fl.RoleActive, meta.Kind))
	if err != nil {
		return nil, err
	}
	t, err := cfg.Data.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: data: %w", cfg.File, err)
	}
	centerVersion := meta.Version
	if v, ok := meta.Metrics["center_version"]; ok && v >= 1 {
		centerVersion = int(v)
	}
	var (
		lr    *model.LRHalf
		trees *boost.ActiveModel
		card  *model.ScorecardHalf
		x     *dataset.Table
	)
	switch meta.Kind {
	case string(job.LR):
		if lr, err = model.LoadLRHalf(bytes.NewReader(hb)); err != nil {
			return nil, fmt.Errorf("registry %s/%d: %w", meta.Name, meta.Version, err)
		}
		if x, err = namedColumns(t, lr.Features); err != nil {
			return nil, err
		}
		x, err = encodeWith(x, func(c [][]string, v []float64, _ int) ([]float64, error) { return lr.Encode(c, v) })
	case string(job.SBT):
		if trees, err = boost.LoadActiveModel(bytes.NewReader(hb)); err != nil {
			return nil, fmt.Errorf("registry %s/%d: %w", meta.Name, meta.Version, err)
		}
		if x, err = namedColumns(t, meta.Columns); err != nil {
			return nil, err
		}
		x, err = encodeWith(x, trees.Encode)
	case string(job.WOE):
		if card, err = model.LoadScorecardHalf(bytes.NewReader(hb)); err != nil {
			return nil, fmt.Errorf("registry %s/%d: %w", meta.Name, meta.Version, err)
		}
		if x, err = namedColumns(t, meta.Columns); err != nil {
			return nil, err
		}
		x, err = encodeWith(x, card.Encode)
	default:
		return nil, fmt.Errorf("registry %s/%d: model kind %q", meta.Name, meta.Version, meta.Kind)
	}
	if err != nil {
		return nil, err
	}
	opts, err := cfg.GRPCOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	tr, err := link.Dial(ctx, cfg.Center, opts)
	if err != nil {
		return nil, fmt.Errorf("dialing the center at %s: %w", cfg.Center, err)
	}
	defer tr.Close()
	req := request{Version: requestVersion, Kind: KindScore, Model: meta.Kind, Name: meta.Name, ModelVersion: centerVersion,
		Training: meta.Training, Output: cfg.Output, Rows: x.Rows()}
	if cfg.Output == OutputApprove || len(cfg.Flags) > 0 {
		req.Approve = cfg.Approve
	}
	req.Flags = cfg.Flags
	rep, err := ask(ctx, tr, req)
	if err != nil {
		return nil, err
	}
	if cfg.Grades != nil && cfg.Output != OutputApprove && !slices.Equal(cfg.Grades, rep.Grades) {
		return nil, fmt.Errorf("%s: grades %v: the center scores with grades %v (its scoring.grades); leave grades out to take the center's", cfg.File, cfg.Grades, rep.Grades)
	}
	cuts, err := score.ProbabilityCuts(rep.Grades)
	if err != nil {
		return nil, fmt.Errorf("the center's grades: %w", err)
	}
	opt := score.Options{Output: score.Bands, Cuts: cuts, BatchRows: rep.BatchRows,
		PSICache: openPSICache(cfg.PSICache, meta.Table, cfg.CenterName, selfName(opts), log)}
	if cfg.Output == OutputScores {
		opt.Output = score.Scores
	}
	if len(cfg.Flags) > 0 {
		// The center granted the flags for the whitelist's grades: the
		// release cut is the whitelist's (the one cut of approve output).
		opt.Disclose = &score.Disclose{At: cfg.Approve - 1, Flags: cfg.Flags}
		if cfg.Output == OutputApprove {
			opt.Disclose.At = 0
		}
	}
	log.Info("scoring granted", "model", meta.Name, "version", meta.Version, "output", cfg.Output, "grades", len(rep.Grades)+1)
	acct, octx, err := startScoring(ctx, cfg, opts, meta, log) // the bank's audit log (score.yaml audit:)
	if err != nil {
		return nil, err
	}
	defer func() { acct.close(ctx, tr.Stats()) }()
	start := time.Now()
	var res *score.Scored
	switch { // octx: the plans the scoring takes up are recorded
	case lr != nil:
		res, err = score.RequestLR(octx, tr, x.IDs, x.X, lr, opt)
	case trees != nil:
		res, err = score.RequestTrees(octx, tr, x.IDs, x.X, x.Cols(), trees, opt)
	default:
		res, err = score.RequestScorecard(octx, tr, x.IDs, x.X, x.Cols(), card, cardOf(meta), opt)
	}
	if err = acct.finish(ctx, err, tr.Stats(), res); err != nil { // recorded before the result is written
		return nil, err
	}
	secs := time.Since(start).Seconds()
	wl := Whitelist{Approve: min(cfg.Approve, len(rep.Grades)+1), Pricing: PricingOf(cfg)}
	if cfg.Output == OutputApprove {
		// One cut: band 0 is approved, at grade A's line and rate.
		wl.Approve = 1
	}
	if wl.Pricing.Lines != nil {
		wl.Pricing.Lines = wl.Pricing.Lines[:wl.Approve]
	}
	if wl.Pricing.Rates != nil {
		wl.Pricing.Rates = wl.Pricing.Rates[:wl.Approve]
	}
	disclosed := 0
	if opt.Disclose != nil {
		if wl.Disclosed, wl.Flags, disclosed, err = flagsOf(cfg.Flags, res.Result); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	counts, approved, err := WriteGrades(cfg.Out, res, len(rep.Grades)+1, opt.Output == score.Scores, cardOf(meta), wl)
	if err != nil {
		return nil, err
	}
	st := tr.Stats()
	return &ScoreResult{Model: meta.Name, Kind: meta.Kind, Version: meta.Version, Output: cfg.Output, Rows: t.Rows(), Scored: len(res.IDs),
		Whitelisted: approved, FlagsDisclosed: disclosed, Grades: counts, Seconds: secs, BytesSent: st.SentBytes, BytesRecv: st.RecvBytes, Out: cfg.Out}, nil
}

// flagsOf maps a scoring's disclosed flags (bit i: names[i]) to Flags,
// and counts the records released.
func flagsOf(names []string, res *score.Result) (disclosed Flags, per []Flags, records int, err error) {
	if disclosed, err = FlagsOf(names...); err != nil {
		return 0, nil, 0, err
	}
	bit := make([]Flags, len(names))
	for i, n := range names {
		bit[i], _ = FlagsOf(n)
	}
	per = make([]Flags, len(res.Flags))
	for r, v := range res.Flags {
		if !res.Disclosed[r] {
			continue
		}
		records++
		for i := range names {
			if v>>i&1 == 1 {
				per[r] |= bit[i]
			}
		}
	}
	return disclosed, per, records, nil
}

// encodeWith returns t with its categorical columns' codes mapped to a
// half's levels by label (Encode): the input of its scoring.
func encodeWith(t *dataset.Table, encode func(categories [][]string, x []float64, d int) ([]float64, error)) (*dataset.Table, error) {
	x, err := encode(t.Categories, t.X, t.Cols())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	out := *t
	out.X, out.Categories = x, nil
	return &out, nil
}
