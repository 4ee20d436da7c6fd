package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// The model kinds a policy or a job names, and the scoring outputs.
var (
	Models  = []string{string(job.LR), string(job.SBT), string(job.WOE)}
	Outputs = []string{OutputBands, OutputApprove, OutputScores}
)

// The scoring outputs (Bank.Outputs, Score.Output).
const (
	// OutputBands: each enterprise's grade, by secure comparison; the
	// bank learns the grade only.
	OutputBands = "bands"
	// OutputApprove: the grades, and the bank's whitelist of the best
	// grades with a credit line and a rate.
	OutputApprove = "approve"
	// OutputScores: each score decrypted to the bank (probability, points).
	OutputScores = "scores"
)

// Defaults of the optional settings (see the package doc).
const (
	DefaultSessions       = 32
	DefaultPerBank        = 4
	DefaultTrainings      = 2
	DefaultRows           = 1_000_000
	DefaultSessionTimeout = time.Hour
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultCenterName     = "center"
	DefaultIDColumn       = "id"
	DefaultTestFrac       = 0.2
	DefaultSeed           = 42
	DefaultOut            = "scoring-out"
)

// DefaultGrades are the probability-of-default cut points between grades
// A, B, C, ... (as examples/scoring's -grades).
var DefaultGrades = []float64{0.02, 0.05, 0.10, 0.20}

// Center is the credit center's node configuration (center.yaml).
type Center struct {
	Listen   string `yaml:"listen,required"`
	Cert     string `yaml:"cert,required"`
	Key      string `yaml:"key,required"`
	CA       string `yaml:"ca,required"`
	Registry string `yaml:"registry,required"`
	// Tables are the center's tables by the name banks use.
	Tables map[string]Table `yaml:"tables,required"`
	// Banks are the banks served, by their certificate's name, and what
	// each may do; any other certificate is refused at the handshake.
	Banks   map[string]Bank `yaml:"banks,required"`
	Limits  Limits          `yaml:"limits"`
	Scoring Scoring         `yaml:"scoring"`
	// Audit is the path of the center's audit log (package node/audit);
	// "" keeps none. Metrics is the host:port of the Prometheus metrics
	// listener (package node/metrics); "" serves none.
	Audit   string `yaml:"audit"`
	Metrics string `yaml:"metrics"`
	// PSIStore is the folder of the center's PSI store: each table's ids
	// encoded for each bank under a key of the epoch (psi.CenterStore, a
	// subfolder a table), so that the unbalanced alignment of a training
	// or a scoring costs O(the bank's ids). Default: psi beside the
	// registry. Its files hold the keys: the center's alone.
	PSIStore string `yaml:"psi_store"`
	// File is the config file's path (set by LoadCenter).
	File string `yaml:"-"`

	dec *decoder
}

// Table is one of the center's tables: Source is a CSV path, a .parquet
// path or a postgres:// URL (then Query is the SQL query).
type Table struct {
	Source      string   `yaml:"source,required"`
	ID          string   `yaml:"id"`
	Query       string   `yaml:"query"`
	Categorical []string `yaml:"categorical"`
	// Flags name the table's 0/1 columns that hold the center's flags
	// (Flags: coupon, specialised, technology, a_taxpayer, trade), e.g.
	// {coupon: has_coupon}; a flag without a column is never disclosed.
	Flags map[string]string `yaml:"flags"`
}

// The center's flags an enterprise may hold, which it discloses to a bank
// only for the enterprises that bank's scoring puts on its whitelist, and
// only those its policy lists (Bank.Flags): the credit center's digital
// credit coupon, then the categories the whitelist's pricing discounts once
// (specialised-and-innovative, technology-based, A-grade taxpayer,
// importer/exporter).
const (
	FlagCoupon      = "coupon"
	FlagSpecialised = "specialised"
	FlagTechnology  = "technology"
	FlagATaxpayer   = "a_taxpayer"
	FlagTrade       = "trade"
)

var (
	// Flags lists the flags in their bit order (node.Flags).
	Flags = []string{FlagCoupon, FlagSpecialised, FlagTechnology, FlagATaxpayer, FlagTrade}
	// CategoryFlags are the flags of the category discount.
	CategoryFlags = []string{FlagSpecialised, FlagTechnology, FlagATaxpayer, FlagTrade}
)

// Bank is one bank's policy. Columns empty means all of the tables'
// feature columns; MaxSessions and MaxRows 0 take Limits' PerBank and Rows.
type Bank struct {
	Tables      []string `yaml:"tables,required"`
	Models      []string `yaml:"models,required"`
	Outputs     []string `yaml:"outputs"`
	Columns     []string `yaml:"columns"`
	MaxSessions int      `yaml:"max_sessions"`
	MaxRows     int      `yaml:"max_rows"`
	// Flags are the center's flags the bank may receive for its
	// whitelisted enterprises (default none), and FlagGrades the most
	// grades (A, B, ...) whose enterprises may receive them (default 2).
	Flags      []string `yaml:"flags"`
	FlagGrades int      `yaml:"flag_grades"`
}

// Limits bound the node's sessions.
type Limits struct {
	// Sessions: training and scoring sessions at once, all banks (32).
	Sessions int `yaml:"sessions"`
	// PerBank: sessions of one bank at once (4).
	PerBank int `yaml:"per_bank"`
	// Trainings: training sessions at once, all banks (2).
	Trainings int `yaml:"trainings"`
	// Rows: the most ids a bank may bring to one session (1,000,000).
	Rows int `yaml:"rows"`
	// SessionTimeout bounds a whole session (1h), IdleTimeout every wait
	// on the bank within one (2m).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
}

// Scoring is what the center reveals in scoring sessions.
type Scoring struct {
	// Grades are the probability-of-default cut points between grades A,
	// B, C, ... of the bands and approve outputs, ascending in (0, 1)
	// (DefaultGrades).
	Grades []float64 `yaml:"grades"`
	// BatchRows is the records per scoring batch (0: fl/score's default).
	BatchRows int `yaml:"batch_rows"`
}

// Data is a bank table: Source is a CSV path, a .parquet path or a
// postgres:// URL (then Query); ID names the id column (default "id"),
// Label the 0/1 label column (required in a job's data, absent elsewhere).
type Data struct {
	Source      string   `yaml:"source,required"`
	ID          string   `yaml:"id"`
	Label       string   `yaml:"label"`
	Query       string   `yaml:"query"`
	Categorical []string `yaml:"categorical"`
}

// LR are the LR settings of a job (examples/twoparty's flags).
type LR struct {
	Epochs          int     `yaml:"epochs"`
	Batch           int     `yaml:"batch"`
	Optimizer       string  `yaml:"optimizer"`
	LearningRate    float64 `yaml:"learning_rate"`
	Momentum        float64 `yaml:"momentum"`
	RevealGradients bool    `yaml:"reveal_gradients"`
	L2              float64 `yaml:"l2"`
	SigmoidDegree   int     `yaml:"sigmoid_degree"`
	SigmoidBound    float64 `yaml:"sigmoid_bound"`
	Clip            float64 `yaml:"clip"`
}

// SBT are the SecureBoost settings of a job.
type SBT struct {
	Trees       int     `yaml:"trees"`
	Depth       int     `yaml:"depth"`
	MinNodeRows int     `yaml:"min_node_rows"`
	MinBinRows  int     `yaml:"min_bin_rows"`
	DPEpsilon   float64 `yaml:"dp_epsilon"`
	DPDelta     float64 `yaml:"dp_delta"`
	Bins        int     `yaml:"bins"`
	Eta         float64 `yaml:"eta"`
	Lambda      float64 `yaml:"lambda"`
	// LinkMbps is the link's speed the bank plans the histograms' layout
	// for (boost.Options.LinkMbps; 0: none, the least computation).
	LinkMbps float64 `yaml:"link_mbps"`
}

// WOE are the WOE scorecard's settings of a job, with the points' scaling.
type WOE struct {
	Method     string  `yaml:"method"`
	Bins       int     `yaml:"bins"`
	MinIV      float64 `yaml:"min_iv"`
	TopK       int     `yaml:"top_k"`
	BasePoints float64 `yaml:"base_points"`
	PDO        float64 `yaml:"pdo"`
	BaseOdds   float64 `yaml:"base_odds"`
}

// Job is a bank's training job (job.yaml).
type Job struct {
	Center     string  `yaml:"center,required"`
	CenterName string  `yaml:"center_name"`
	Cert       string  `yaml:"cert,required"`
	Key        string  `yaml:"key,required"`
	CA         string  `yaml:"ca,required"`
	Registry   string  `yaml:"registry,required"`
	Data       Data    `yaml:"data,required"`
	Test       *Data   `yaml:"test"`
	TestFrac   float64 `yaml:"test_frac"`
	Seed       int64   `yaml:"seed"`
	Table      string  `yaml:"table,required"`
	Model      string  `yaml:"model,required"`
	Name       string  `yaml:"name,required"`
	LR         LR      `yaml:"lr"`
	SBT        SBT     `yaml:"sbt"`
	WOE        WOE     `yaml:"woe"`
	Checkpoint string  `yaml:"checkpoint"`
	// Audit is the path of the bank's own audit log ("" keeps none).
	Audit string `yaml:"audit"`
	// PSICache is the folder of the bank's caches of the center's encoded
	// tables (psi.OpenCache, a subfolder a table; with the center's
	// answers for the bank's ids), kept across trainings and scorings.
	// Default: psi-cache beside the registry.
	PSICache string `yaml:"psi_cache"`
	// File is the config file's path, Digest the hex SHA-256 of its bytes.
	File   string `yaml:"-"`
	Digest string `yaml:"-"`
}

// Score is a bank's scoring run (score.yaml).
type Score struct {
	Center     string `yaml:"center,required"`
	CenterName string `yaml:"center_name"`
	Cert       string `yaml:"cert,required"`
	Key        string `yaml:"key,required"`
	CA         string `yaml:"ca,required"`
	Registry   string `yaml:"registry,required"`
	Data       Data   `yaml:"data,required"`
	// Model is the registered model's name; Version 0 the latest.
	Model   string `yaml:"model,required"`
	Version int    `yaml:"version"`
	Output  string `yaml:"output"`
	Out     string `yaml:"out"`
	// Grades: the cut points asked for (nil: the center's).
	Grades []float64 `yaml:"grades"`
	// The whitelist's pricing (node.Pricing): the Approve best grades are
	// pre-approved; grade k's line is Lines[k] (nil: MaxLine*(Approve-k)/Approve),
	// its rate Rates[k] (nil: RateMax) less CouponDiscount for the center's
	// coupon and CategoryDiscount for any category flag, never below
	// RateMin. Flags are the center's flags asked for (config.Flags).
	Approve          int       `yaml:"approve"`
	MaxLine          float64   `yaml:"max_line"`
	RateMin          float64   `yaml:"rate_min"`
	RateMax          float64   `yaml:"rate_max"`
	CouponDiscount   float64   `yaml:"coupon_discount"`
	CategoryDiscount float64   `yaml:"category_discount"`
	Lines            []float64 `yaml:"lines"`
	Rates            []float64 `yaml:"rates"`
	Flags            []string  `yaml:"flags"`
	// Audit is the path of the bank's own audit log ("" keeps none).
	Audit string `yaml:"audit"`
	// PSICache is the folder of the bank's caches of the center's encoded
	// tables (psi.OpenCache, a subfolder a table; with the center's
	// answers for the bank's ids), kept across trainings and scorings.
	// Default: psi-cache beside the registry.
	PSICache string `yaml:"psi_cache"`
	// File is the config file's path, Digest the hex SHA-256 of its bytes.
	File   string `yaml:"-"`
	Digest string `yaml:"-"`
}

// Parse helpers: the same as the Load functions on bytes, file naming the
// source in errors and the folder relative paths resolve against.

// ParseCenter decodes and checks a center config held in data.
func ParseCenter(file string, data []byte) (*Center, error) {
	c := &Center{Limits: Limits{Sessions: DefaultSessions, PerBank: DefaultPerBank, Trainings: DefaultTrainings, Rows: DefaultRows,
		SessionTimeout: DefaultSessionTimeout, IdleTimeout: DefaultIdleTimeout}, Scoring: Scoring{Grades: slices.Clone(DefaultGrades)}}
	d := &decoder{file: file}
	if err := d.parse(data, c); err != nil {
		return nil, err
	}
	c.File, c.dec = file, d
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCenter reads and checks the center's config file.
func LoadCenter(path string) (*Center, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseCenter(path, data)
}

// ParseJob decodes and checks a job config held in data.
func ParseJob(file string, data []byte) (*Job, error) {
	j := &Job{CenterName: DefaultCenterName, TestFrac: DefaultTestFrac, Seed: DefaultSeed, LR: DefaultLR(), SBT: DefaultSBT(), WOE: DefaultWOE()}
	d := &decoder{file: file}
	if err := d.parse(data, j); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	j.File, j.Digest = file, hex.EncodeToString(sum[:])
	if err := j.check(d); err != nil {
		return nil, err
	}
	return j, nil
}

// LoadJob reads and checks a bank's job config file.
func LoadJob(path string) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseJob(path, data)
}

// ParseScore decodes and checks a scoring config held in data.
func ParseScore(file string, data []byte) (*Score, error) {
	s := &Score{CenterName: DefaultCenterName, Output: OutputBands, Out: DefaultOut, Approve: 2, MaxLine: 3_000_000, RateMin: 3.8, RateMax: 4.2,
		CouponDiscount: 0.2, CategoryDiscount: 0.2}
	d := &decoder{file: file}
	if err := d.parse(data, s); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	s.File, s.Digest = file, hex.EncodeToString(sum[:])
	if err := s.check(d); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadScore reads and checks a bank's scoring config file.
func LoadScore(path string) (*Score, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseScore(path, data)
}

// DefaultLR are examples/twoparty's LR defaults.
func DefaultLR() LR {
	return LR{Epochs: 30, Optimizer: "momentum", L2: -1, SigmoidDegree: 5, SigmoidBound: 8, Clip: job.DefaultClip}
}

// DefaultSBT are examples/twoparty's SecureBoost defaults.
func DefaultSBT() SBT {
	return SBT{Trees: 30, Depth: 3, MinNodeRows: model.DefaultMinNodeRows, MinBinRows: model.DefaultMinBinRows, DPDelta: 1e-5, Bins: 32, Eta: 0.3, Lambda: 1}
}

// DefaultWOE are examples/twoparty's WOE defaults and the usual points'
// scaling (500 points at odds 1:1, 20 points to double the odds).
func DefaultWOE() WOE {
	return WOE{Method: "quantile", Bins: 32, BasePoints: 500, PDO: 20, BaseOdds: 1}
}

// resolve makes a relative path relative to the config file's folder; a
// URL or "" is kept.
func resolve(file, p string) string {
	if p == "" || filepath.IsAbs(p) || isURL(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// checkSource checks a Source/Query pair at key.
func checkSource(d *decoder, key, source, query string) error {
	switch {
	case isURL(source) && strings.Contains(source, "#"):
		return d.errKey(key+".source", "give the SQL query as query:, not after # in the URL")
	case isURL(source) && strings.TrimSpace(query) == "":
		return d.errKey(key+".source", "a postgres:// source needs query: (the SQL query)")
	case !isURL(source) && query != "":
		return d.errKey(key+".query", "query: goes with a postgres:// source only")
	}
	return nil
}

// name is a model, table or bank name: it is a path component of the
// registries and goes into messages.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName reports whether s can name a model in a registry: 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or digit, and
// not all digits (those are versions).
func CheckName(s string) error {
	if !nameRE.MatchString(s) || strings.Trim(s, "0123456789") == "" {
		return fmt.Errorf("%q is not a name: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not all digits", s)
	}
	return nil
}

func (c *Center) check() error {
	d := c.dec
	c.Cert, c.Key, c.CA, c.Registry = resolve(c.File, c.Cert), resolve(c.File, c.Key), resolve(c.File, c.CA), resolve(c.File, c.Registry)
	c.Audit = resolve(c.File, c.Audit)
	c.PSIStore = psiFolder(c.File, c.PSIStore, c.Registry, "psi")
	if c.Metrics != "" {
		if _, port, err := net.SplitHostPort(c.Metrics); err != nil || port == "" {
			return d.errKey("metrics", "%q is not host:port (127.0.0.1:9464)", c.Metrics)
		}
	}
	if len(c.Tables) == 0 {
		return d.errKey("tables", "no table: the center serves at least one")
	}
	if len(c.Banks) == 0 {
		return d.errKey("banks", "no bank: the center serves at least one")
	}
	for name, t := range c.Tables {
		key := "tables." + name
		if err := CheckName(name); err != nil {
			return d.errKey(key, "%v", err)
		}
		if err := checkSource(d, key, t.Source, t.Query); err != nil {
			return err
		}
		if t.ID == "" {
			t.ID = DefaultIDColumn
		}
		for _, f := range sortedKeys(t.Flags) {
			if !slices.Contains(Flags, f) {
				return d.errKey(key+".flags", "unknown flag %q: want some of %s", f, strings.Join(Flags, ", "))
			}
			if t.Flags[f] == "" || t.Flags[f] == t.ID {
				return d.errKey(key+".flags", "flag %q: want a column of the table other than its id", f)
			}
		}
		t.Source = resolve(c.File, t.Source)
		c.Tables[name] = t
	}
	for name, b := range c.Banks {
		key := "banks." + name
		if err := CheckName(name); err != nil {
			return d.errKey(key, "%v", err)
		}
		if len(b.Tables) == 0 {
			return d.errKey(key+".tables", "empty: name the tables the bank may use")
		}
		for _, t := range b.Tables {
			if _, ok := c.Tables[t]; !ok {
				return d.errKey(key+".tables", "no table %q in tables: (have %s)", t, strings.Join(sortedKeys(c.Tables), ", "))
			}
		}
		if len(b.Models) == 0 {
			return d.errKey(key+".models", "empty: name the model kinds the bank may train (%s)", strings.Join(Models, ", "))
		}
		for _, m := range b.Models {
			if !slices.Contains(Models, m) {
				return d.errKey(key+".models", "unknown model kind %q: want %s", m, strings.Join(Models, ", "))
			}
		}
		for _, o := range b.Outputs {
			if !slices.Contains(Outputs, o) {
				return d.errKey(key+".outputs", "unknown output %q: want %s", o, strings.Join(Outputs, ", "))
			}
		}
		if dup := firstDup(b.Columns); dup != "" {
			return d.errKey(key+".columns", "column %q named twice", dup)
		}
		if b.MaxSessions < 0 {
			return d.errKey(key+".max_sessions", "negative")
		}
		if b.MaxRows < 0 {
			return d.errKey(key+".max_rows", "negative")
		}
		if err := checkFlags(b.Flags); err != nil {
			return d.errKey(key+".flags", "%v", err)
		}
		if b.FlagGrades < 0 {
			return d.errKey(key+".flag_grades", "negative")
		}
		if b.FlagGrades == 0 {
			b.FlagGrades = DefaultFlagGrades
			c.Banks[name] = b
		}
	}
	l := c.Limits
	for _, f := range []struct {
		key string
		v   int
	}{{"sessions", l.Sessions}, {"per_bank", l.PerBank}, {"trainings", l.Trainings}, {"rows", l.Rows}} {
		if f.v <= 0 {
			return d.errKey("limits."+f.key, "must be at least 1")
		}
	}
	if l.SessionTimeout <= 0 {
		return d.errKey("limits.session_timeout", "must be positive")
	}
	if l.IdleTimeout <= 0 {
		return d.errKey("limits.idle_timeout", "must be positive")
	}
	if err := checkGrades(c.Scoring.Grades); err != nil {
		return d.errKey("scoring.grades", "%v", err)
	}
	if c.Scoring.BatchRows < 0 {
		return d.errKey("scoring.batch_rows", "negative")
	}
	return nil
}

func checkGrades(g []float64) error {
	if len(g) == 0 {
		return fmt.Errorf("empty: want ascending probabilities in (0, 1)")
	}
	for i, p := range g {
		if !(p > 0 && p < 1) || (i > 0 && p <= g[i-1]) {
			return fmt.Errorf("want ascending probabilities in (0, 1), got %v", g)
		}
	}
	return nil
}

func firstDup(s []string) string {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// BankNames returns the banks' names, sorted.
func (c *Center) BankNames() []string { return sortedKeys(c.Banks) }

// Bank returns the policy of bank name with its limits filled from
// Limits: MaxSessions and MaxRows are never 0.
func (c *Center) Bank(name string) (Bank, bool) {
	b, ok := c.Banks[name]
	if !ok {
		return b, false
	}
	if b.MaxSessions == 0 || b.MaxSessions > c.Limits.PerBank {
		b.MaxSessions = c.Limits.PerBank
	}
	if b.MaxRows == 0 || b.MaxRows > c.Limits.Rows {
		b.MaxRows = c.Limits.Rows
	}
	return b, true
}

// Rule names the config key of a policy rule of bank, with its value, for
// refusals: Rule("bank-b", "models") is "banks.bank-b.models: [lr]".
func (c *Center) Rule(bank, rule string) string {
	b := c.Banks[bank]
	var v []string
	switch rule {
	case "tables":
		v = b.Tables
	case "models":
		v = b.Models
	case "outputs":
		v = b.Outputs
	case "columns":
		v = b.Columns
	case "flags":
		v = b.Flags
	case "flag_grades":
		return fmt.Sprintf("banks.%s.flag_grades: %d", bank, b.FlagGrades)
	default:
		return "banks." + bank + "." + rule
	}
	return fmt.Sprintf("banks.%s.%s: [%s]", bank, rule, strings.Join(v, ", "))
}

// Load reads the table from its source (CSV, Parquet or PostgreSQL).
func (t Table) Load(ctx context.Context) (*dataset.Table, error) {
	return load(ctx, t.Source, t.Query, dataset.TableOptions{IDColumn: t.ID, Categorical: t.Categorical})
}

// Load reads the bank's table from its source (CSV, Parquet or
// PostgreSQL), with its labels if Label is set.
func (d Data) Load(ctx context.Context) (*dataset.Table, error) {
	return load(ctx, d.Source, d.Query, dataset.TableOptions{IDColumn: d.ID, LabelColumn: d.Label, Categorical: d.Categorical})
}

func load(ctx context.Context, source, query string, opt dataset.TableOptions) (*dataset.Table, error) {
	if isURL(source) {
		source += "#" + query
	}
	t, err := dataset.Load(ctx, source, opt)
	if err != nil {
		return nil, fmt.Errorf("config: load table: %w", err)
	}
	return t, nil
}

// LoadTables reads every table of the config and checks each bank's
// columns against the tables it may use: what `veil center -check` does
// beyond LoadCenter. The tables are returned by name.
func (c *Center) LoadTables(ctx context.Context) (map[string]*dataset.Table, error) {
	out := make(map[string]*dataset.Table, len(c.Tables))
	for _, name := range sortedKeys(c.Tables) {
		t, err := c.Tables[name].Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: tables.%s: %w", c.File, name, err)
		}
		out[name] = t
	}
	for _, name := range c.BankNames() {
		if err := c.CheckColumns(name, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckColumns checks that every column bank's policy names is a feature
// column of each table it may use.
func (c *Center) CheckColumns(bank string, tables map[string]*dataset.Table) error {
	b := c.Banks[bank]
	for _, tn := range b.Tables {
		t := tables[tn]
		if t == nil {
			continue
		}
		for _, col := range b.Columns {
			if _, ok := t.ColumnIndex(col); !ok {
				return c.errKey("banks."+bank+".columns", "no feature column %q in table %s", col, tn)
			}
		}
	}
	return nil
}

// errKey is an Error at key's line in the center's file.
func (c *Center) errKey(key, format string, args ...any) error {
	if c.dec == nil {
		return &Error{File: c.File, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	return c.dec.errKey(key, format, args...)
}

// CheckFiles checks that the certificate, key and CA files can be read
// as a TLS identity.
func (c *Center) CheckFiles() error {
	_, err := c.Identity()
	return err
}

// Identity reads the center's certificate, key and CA.
func (c *Center) Identity() (*fl.TLSIdentity, error) {
	id, err := fl.LoadTLS(c.Cert, c.Key, c.CA)
	if err != nil {
		return nil, fmt.Errorf("%s: cert/key/ca: %w", c.File, err)
	}
	return id, nil
}

// GRPCOptions are the center's server options: mutual TLS that accepts
// only the certificates of the banks in banks:, so any other is refused
// at the handshake.
func (c *Center) GRPCOptions() (link.GRPCOptions, error) {
	id, err := c.Identity()
	if err != nil {
		return link.GRPCOptions{}, err
	}
	return link.GRPCOptions{TLS: id.ServerTLS(c.BankNames()...)}, nil
}

func clientOptions(file, cert, key, ca, server string) (link.GRPCOptions, error) {
	id, err := fl.LoadTLS(cert, key, ca)
	if err != nil {
		return link.GRPCOptions{}, fmt.Errorf("%s: cert/key/ca: %w", file, err)
	}
	return link.GRPCOptions{TLS: id.ClientTLS(server)}, nil
}

// GRPCOptions are the bank's dialing options: its certificate, and the
// center's certificate checked against center_name.
func (j *Job) GRPCOptions() (link.GRPCOptions, error) {
	return clientOptions(j.File, j.Cert, j.Key, j.CA, j.CenterName)
}

// GRPCOptions are the bank's dialing options: its certificate, and the
// center's certificate checked against center_name.
func (s *Score) GRPCOptions() (link.GRPCOptions, error) {
	return clientOptions(s.File, s.Cert, s.Key, s.CA, s.CenterName)
}

func (dt *Data) check(d *decoder, file, key string, label bool) error {
	if err := checkSource(d, key, dt.Source, dt.Query); err != nil {
		return err
	}
	if label && dt.Label == "" {
		return d.errKey(key+".label", "missing required key (the 0/1 label column)")
	}
	if dt.ID == "" {
		dt.ID = DefaultIDColumn
	}
	dt.Source = resolve(file, dt.Source)
	return nil
}

func (j *Job) check(d *decoder) error {
	f := j.File
	j.Cert, j.Key, j.CA, j.Registry, j.Checkpoint = resolve(f, j.Cert), resolve(f, j.Key), resolve(f, j.CA), resolve(f, j.Registry), resolve(f, j.Checkpoint)
	j.Audit = resolve(f, j.Audit)
	j.PSICache = psiFolder(f, j.PSICache, j.Registry, "psi-cache")
	if err := j.Data.check(d, f, "data", true); err != nil {
		return err
	}
	if j.Test != nil {
		if j.Test.Label == "" {
			j.Test.Label = j.Data.Label
		}
		if j.Test.ID == "" {
			j.Test.ID = j.Data.ID
		}
		if err := j.Test.check(d, f, "test", true); err != nil {
			return err
		}
		if d.has("test_frac") {
			return d.errKey("test_frac", "give test: or test_frac, not both")
		}
	}
	if !(j.TestFrac > 0 && j.TestFrac < 1) {
		return d.errKey("test_frac", "want a share in (0, 1), got %v", j.TestFrac)
	}
	if j.CenterName == "" {
		return d.errKey("center_name", "empty")
	}
	if !slices.Contains(Models, j.Model) {
		return d.errKey("model", "unknown model kind %q: want %s", j.Model, strings.Join(Models, ", "))
	}
	if err := CheckName(j.Name); err != nil {
		return d.errKey("name", "%v", err)
	}
	if err := CheckName(j.Table); err != nil {
		return d.errKey("table", "%v", err)
	}
	for _, sec := range []string{"lr", "sbt", "woe"} {
		if d.has(sec) && sec != j.Model && !(sec == "lr" && j.Model == "woe") {
			return d.errKey(sec, "settings of a model this job does not train (model: %s)", j.Model)
		}
	}
	if _, err := j.Spec(); err != nil {
		return d.errKey(j.Model, "%v", err)
	}
	return nil
}

// Spec is the bank's job.Spec of the job: its model and the options from
// the config, without tables, logger or progress (the caller's).
func (j *Job) Spec() (job.Spec, error) {
	clip := j.LR.Clip
	if clip == 0 {
		clip = -1 // clip: 0 means no clipping
	}
	s := job.Spec{TestFraction: j.TestFrac, Seed: j.Seed, Models: []job.Kind{job.Kind(j.Model)}, LR: j.LROptions(), SBT: j.SBTOptions(),
		WOE: j.WOEOptions(), Scorecard: model.Scorecard{BasePoints: j.WOE.BasePoints, PDO: j.WOE.PDO, BaseOdds: j.WOE.BaseOdds},
		Clip: clip, Checkpoint: j.Checkpoint}
	lr := s.LR
	lr.Optimizer.L2 = max(lr.Optimizer.L2, 0)
	if _, err := lr.WithDefaults(); err != nil {
		return job.Spec{}, err
	}
	if _, err := s.SBT.GBDTOptions.WithDefaults(); err != nil {
		return job.Spec{}, err
	}
	if l := j.SBT.LinkMbps; !(l >= 0 && !math.IsInf(l, 1)) {
		return job.Spec{}, fmt.Errorf("sbt.link_mbps: %v, want a speed in Mbit/s at or above 0 (0: none)", l)
	}
	if _, err := s.WOE.WithDefaults(); err != nil {
		return job.Spec{}, err
	}
	if !(j.WOE.PDO > 0 && j.WOE.BaseOdds > 0) {
		return job.Spec{}, fmt.Errorf("woe: pdo and base_odds must be positive")
	}
	return s, nil
}

// LROptions are the job's vlr options.
func (j *Job) LROptions() vlr.Options {
	l := j.LR
	return vlr.Options{Epochs: l.Epochs, BatchSize: l.Batch, Seed: uint64(j.Seed), Degree: l.SigmoidDegree, Bound: l.SigmoidBound, TrackLoss: true,
		Optimizer:       model.OptimizerOptions{Name: l.Optimizer, LearningRate: l.LearningRate, Momentum: l.Momentum, L2: l.L2},
		RevealGradients: l.RevealGradients, Checkpoint: j.Checkpoint}
}

// SBTOptions are the job's SecureBoost options.
func (j *Job) SBTOptions() boost.Options {
	b := j.SBT
	o := boost.Options{GBDTOptions: model.GBDTOptions{Trees: b.Trees, MaxDepth: b.Depth, Bins: b.Bins, LearningRate: b.Eta, Lambda: b.Lambda,
		MinNodeRows: b.MinNodeRows, MinBinRows: b.MinBinRows}, Checkpoint: j.Checkpoint, LinkMbps: b.LinkMbps}
	if b.DPEpsilon > 0 {
		o.DP = &boost.DP{Epsilon: b.DPEpsilon, Delta: b.DPDelta}
	}
	return o
}

// WOEOptions are the job's WOE/IV options.
func (j *Job) WOEOptions() woe.Options {
	return woe.Options{Bins: j.WOE.Bins, Method: j.WOE.Method, Select: model.Selection{MinIV: j.WOE.MinIV, TopK: j.WOE.TopK}}
}

func (s *Score) check(d *decoder) error {
	f := s.File
	s.Cert, s.Key, s.CA, s.Registry, s.Out = resolve(f, s.Cert), resolve(f, s.Key), resolve(f, s.CA), resolve(f, s.Registry), resolve(f, s.Out)
	s.Audit = resolve(f, s.Audit)
	s.PSICache = psiFolder(f, s.PSICache, s.Registry, "psi-cache")
	if err := s.Data.check(d, f, "data", false); err != nil {
		return err
	}
	if s.Data.Label != "" {
		return d.errKey("data.label", "scoring data has no labels")
	}
	if s.CenterName == "" {
		return d.errKey("center_name", "empty")
	}
	if err := CheckName(s.Model); err != nil {
		return d.errKey("model", "%v", err)
	}
	if s.Version < 0 {
		return d.errKey("version", "negative (0 or absent: the latest)")
	}
	if !slices.Contains(Outputs, s.Output) {
		return d.errKey("output", "unknown output %q: want %s", s.Output, strings.Join(Outputs, ", "))
	}
	if s.Out == "" {
		return d.errKey("out", "empty")
	}
	if s.Grades != nil {
		if err := checkGrades(s.Grades); err != nil {
			return d.errKey("grades", "%v", err)
		}
	}
	if s.Approve < 1 {
		return d.errKey("approve", "must be at least 1")
	}
	if s.Grades != nil && s.Approve > len(s.Grades)+1 {
		return d.errKey("approve", "%d grades approved of %d", s.Approve, len(s.Grades)+1)
	}
	if !(s.MaxLine > 0) {
		return d.errKey("max_line", "must be positive")
	}
	if !(s.RateMin > 0 && s.RateMax >= s.RateMin) {
		return d.errKey("rate_min", "want 0 < rate_min <= rate_max")
	}
	if !(s.CouponDiscount >= 0) {
		return d.errKey("coupon_discount", "negative")
	}
	if !(s.CategoryDiscount >= 0) {
		return d.errKey("category_discount", "negative")
	}
	if s.Lines != nil && len(s.Lines) != s.Approve {
		return d.errKey("lines", "%d line caps for %d approved grades", len(s.Lines), s.Approve)
	}
	for _, l := range s.Lines {
		if !(l > 0 && l <= s.MaxLine) {
			return d.errKey("lines", "line cap %v: want (0, max_line]", l)
		}
	}
	if s.Rates != nil && len(s.Rates) != s.Approve {
		return d.errKey("rates", "%d base rates for %d approved grades", len(s.Rates), s.Approve)
	}
	for _, r := range s.Rates {
		if !(r >= s.RateMin && r <= s.RateMax) {
			return d.errKey("rates", "base rate %v: want [rate_min, rate_max]", r)
		}
	}
	if err := checkFlags(s.Flags); err != nil {
		return d.errKey("flags", "%v", err)
	}
	return nil
}

// DefaultFlagGrades is a bank's flag_grades when its policy gives none.
const DefaultFlagGrades = 2

// checkFlags refuses an unknown or repeated flag name.
func checkFlags(flags []string) error {
	for _, f := range flags {
		if !slices.Contains(Flags, f) {
			return fmt.Errorf("unknown flag %q: want some of %s", f, strings.Join(Flags, ", "))
		}
	}
	if dup := firstDup(flags); dup != "" {
		return fmt.Errorf("flag %q named twice", dup)
	}
	return nil
}

// psiFolder resolves a PSI store or cache folder against the config's
// folder; "" is name beside the (resolved) registry.
func psiFolder(file, dir, registry, name string) string {
	if dir == "" {
		return filepath.Join(filepath.Dir(filepath.Clean(registry)), name)
	}
	return resolve(file, dir)
}
