package woe

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// Message types of the protocol.
const (
	TypeSetup    = "woe.setup"
	TypeSetupAck = "woe.setup-ack"
	TypeLabels   = "woe.labels"
	TypeHist     = "woe.hist"
	TypeResult   = "woe.result"
	TypePoints   = "woe.points"
	// TypeScoreSetup opens federated scoring: the bank's half's training
	// id, which the center compares with its own before it sends points.
	TypeScoreSetup = "woe.score-setup"
)

// scoreVersion guards scoring's setup message (TypeScoreSetup).
const scoreVersion = 1

// ErrTraining reports scorecard halves of different trainings.
var ErrTraining = errors.New("woe: halves of different trainings")

type scoreSetup struct {
	Version  int    `json:"version"`
	Training string `json:"training,omitempty"`
	Rows     int    `json:"rows"`
}

// checkTraining refuses halves whose training ids differ, or of which one
// records an id and the other none (as fl/score does): halves of different
// trainings do not add up to one scorecard. Ids are no secret: both halves
// of a model record the same.
func checkTraining(bank, center string) error {
	id := func(s string) string {
		if s == "" {
			return "no training id"
		}
		return "training " + s
	}
	if bank == center {
		return nil
	}
	return fmt.Errorf("%w: the bank's scorecard half is of %s, the center's of %s", ErrTraining, id(bank), id(center))
}

// protocolVersion guards the setup message; version 4 leaves the Galois
// keys that pack the histograms with the center alone (keySpec).
const protocolVersion = 4

// keySpec is the center's key spec: the Galois keys that pack the label
// histograms are its alone (he.KeySpec.GaloisHolder), so the bank sends its
// shares of them and receives none; the bank uses keySpec().Peer().
func keySpec() he.KeySpec { return he.KeySpec{Pack: true, GaloisHolder: he.HeldBySelf} }

// Binning methods.
const (
	Quantile = "quantile" // the quantile bins of model.FitBinning
	Optimal  = "optimal"  // quantile bins merged by model.OptimalBins
)

var (
	// ErrProtocol reports a peer message that breaks the protocol.
	ErrProtocol = fmt.Errorf("woe: %w", fl.ErrProtocol)
	// ErrOptions reports options out of range.
	ErrOptions = errors.New("woe: bad options")
)

// Options configure the binning, WOE and selection; the bank's are the
// job's: it sends them to the center. A zero field takes its default.
type Options struct {
	// Bins is the number of quantile bins per column (default 32, at most
	// 255): the bins of the quantile method, the fine bins the optimal
	// method merges.
	Bins int `json:"bins"`
	// Method is Quantile (default) or Optimal.
	Method string `json:"method"`
	// Merge configures the optimal method.
	Merge model.MergeOptions `json:"merge"`
	// Adjustment is the count added to a bin with no events or no
	// non-events (default model.DefaultWOEAdjustment).
	Adjustment float64 `json:"adjustment"`
	// Select chooses the columns kept, across both parties, by IV.
	Select model.Selection `json:"select"`
	// KeyProgress, if set, is told how far the threshold key generation
	// is (joint.KeyOptions.Progress: step joint.StepKeys, done of
	// joint.KeyStages), and Logger gets its start and end at Debug level.
	// Both are local: the setup sends neither.
	KeyProgress func(step string, done, total int) `json:"-"`
	Logger      *slog.Logger                       `json:"-"`
}

// PassiveOptions are the center's local settings; the options of the
// binning, WOE and selection are the bank's.
type PassiveOptions struct {
	// KeyProgress and Logger are the center's, as Options' are the bank's.
	KeyProgress func(step string, done, total int)
	Logger      *slog.Logger
}

// WithDefaults fills zero fields and validates.
func (o Options) WithDefaults() (Options, error) {
	if o.Bins == 0 {
		o.Bins = 32
	}
	if o.Method == "" {
		o.Method = Quantile
	}
	if o.Adjustment == 0 {
		o.Adjustment = model.DefaultWOEAdjustment
	}
	if o.Bins < 2 || o.Bins > model.MaxBins {
		return o, fmt.Errorf("%w: %d bins, want 2 to %d", ErrOptions, o.Bins, model.MaxBins)
	}
	if o.Method != Quantile && o.Method != Optimal {
		return o, fmt.Errorf("%w: method %q, want %q or %q", ErrOptions, o.Method, Quantile, Optimal)
	}
	if !(o.Adjustment > 0) || math.IsInf(o.Adjustment, 0) {
		return o, fmt.Errorf("%w: adjustment %v, want positive", ErrOptions, o.Adjustment)
	}
	if o.Method == Optimal {
		if o.Merge.Adjustment == 0 {
			o.Merge.Adjustment = o.Adjustment
		}
		m, err := o.Merge.WithDefaults()
		if err != nil {
			return o, err
		}
		o.Merge = m
	}
	if _, err := o.Select.Select(nil); err != nil {
		return o, err
	}
	return o, nil
}

// Column is one column's binning, counts, WOE and IV as the bank knows them.
// A numeric column's bins are quantile bins, merged by adjacency under the
// optimal method; a categorical column's are its levels (one bin per level
// of model.Categories, the rarest labels already folded), merged in order of
// event rate under the optimal method (model.OptimalLevelBins).
type Column struct {
	// Party owns the column: model.Active or model.Passive.
	Party model.Role `json:"party"`
	// Index is the column's index among its party's columns.
	Index int    `json:"index"`
	Name  string `json:"name"`
	// QuantileBins is the number of quantile bins of present values, or,
	// for a categorical column, its number of levels.
	QuantileBins int `json:"quantile_bins"`
	// Ends are the merged bins' ends over the quantile bins (the optimal
	// method; see model.BinCounts.Merge); nil for the quantile method and
	// for a categorical column.
	Ends []int `json:"ends,omitempty"`
	// Cuts are the cuts of the (merged) bins: the bank's own numeric columns
	// only.
	Cuts []float64 `json:"cuts,omitempty"`
	// LevelBins, set for a categorical column and only for one, holds the
	// bin of each level: the level itself under the quantile method.
	LevelBins []int `json:"level_bins,omitempty"`
	// Labels name the levels of a categorical column (model.Levels.Names):
	// the bank's own columns, and the center's when it shows its names.
	Labels []string `json:"labels,omitempty"`
	// Counts are per (merged) bin.
	Counts model.BinCounts `json:"counts"`
	model.ColumnWOE
	// Keep reports whether the selection keeps the column.
	Keep bool `json:"keep"`
}

// ActiveResult is the bank's outcome.
type ActiveResult struct {
	Bank   []Column
	Center []Column
	// Transform maps the bank's raw columns to the WOE columns it keeps.
	Transform model.WOETransform
	Stats     fl.Stats
	Duration  time.Duration
}

// PassiveResult is the center's outcome: which of its columns stay and
// their transform into (affinely masked, see the package doc) WOE columns.
type PassiveResult struct {
	Keep      []int
	Transform model.WOETransform
	Stats     fl.Stats
	Duration  time.Duration
}

type setup struct {
	Version int     `json:"version"`
	Options Options `json:"options"`
	Rows    int     `json:"rows"`
}

type setupAck struct {
	Version int      `json:"version"`
	Rows    int      `json:"rows"`
	Bins    []int    `json:"bins"`
	Names   []string `json:"names,omitempty"`
	// Levels holds, per column, the number of levels of a categorical
	// column, whose bins are its levels, and -1 for a numeric one (nil:
	// every column numeric). Labels name the levels when Names is set.
	Levels []int      `json:"levels,omitempty"`
	Labels [][]string `json:"labels,omitempty"`
}

// resultColumn tells the center how to transform one column it keeps: the
// merged bins of a numeric column as Ends over its quantile bins, of a
// categorical column as the bin of each level (LevelBins).
type resultColumn struct {
	Index     int       `json:"index"`
	Ends      []int     `json:"ends,omitempty"`
	LevelBins []int     `json:"level_bins,omitempty"`
	Values    []float64 `json:"values"`
	Missing   float64   `json:"missing"`
}

type result struct {
	Columns []resultColumn `json:"columns"`
}

// Params returns the HE parameter set federated WOE runs (he.Hist13, for
// the event counts), for a session's handshake to name: both parties
// compare it before any key is made.
func Params() he.Params { return params() }

// params are the HE parameters of the counts.
func params() he.Params { return he.MustParams(he.Hist13) }

// countHeadroom is log2 of the largest count sum the scaled labels may
// reach: he.Hist13 decrypts values up to 2^21, less the flooding's tail
// (see boost's histHeadroom).
const countHeadroom = 19

// Data is one party's columns (fl.Data). A categorical column
// (Categories) holds its levels, as model.Categories.Encode returns them,
// with NaN for a missing cell or a label unseen in training. Names are the
// column names, nil for none: the bank's then read bank_j; the center shows
// its names, and its categorical columns' level names, to the bank only when
// it gives them (nil: the bank sees center_j).
type Data = fl.Data

// checkData validates the shape of d: with labels when labelled, without
// any otherwise (labels are the bank's alone).
func checkData(d Data, labelled bool) error {
	n := 0
	if d.Cols >= 1 {
		n = len(d.X) / d.Cols
	}
	switch {
	case d.Cols < 1 || len(d.X) == 0 || len(d.X)%d.Cols != 0:
		return fmt.Errorf("%w: %d values in rows of %d columns", model.ErrShape, len(d.X), d.Cols)
	case labelled && len(d.Y) != n:
		return fmt.Errorf("%w: %d values for %d labels of %d columns", model.ErrShape, len(d.X), len(d.Y), d.Cols)
	case !labelled && d.Y != nil:
		return fmt.Errorf("%w: %d labels at the center: the labels are the bank's alone", model.ErrShape, len(d.Y))
	case d.Names != nil && len(d.Names) != d.Cols:
		return fmt.Errorf("%w: %d names for %d columns", model.ErrShape, len(d.Names), d.Cols)
	case d.Categories.Any() && len(d.Categories.Columns) != d.Cols:
		return fmt.Errorf("%w: an encoding of %d columns for %d", model.ErrCategories, len(d.Categories.Columns), d.Cols)
	}
	for j := 0; j < d.Cols; j++ {
		if d.Categories.IsCategorical(j) {
			if l := d.Categories.Columns[j]; l.NumLevels() > model.MaxBins {
				return fmt.Errorf("%w: column %q has %d levels, at most %d bins", model.ErrCategories, l.Column, l.NumLevels(), model.MaxBins)
			}
		}
	}
	return nil
}

// bins returns the bins of every column of d and their number of bins of
// present values: quantile bins (and their cuts) for a numeric column, the
// levels for a categorical one (at least one bin, for a column whose
// training rows are all missing). A categorical cell that is not one of its
// column's levels is an error.
func dataBins(d Data, maxBins int) (bins [][]uint8, nb []int, cuts [][]float64, err error) {
	binning, err := model.FitBinning(d.X, d.Cols, maxBins)
	if err != nil {
		return nil, nil, nil, err
	}
	if bins, err = binning.Bin(d.X, d.Cols); err != nil {
		return nil, nil, nil, err
	}
	nb, _ = binning.Sizes()
	cuts = binning.Cuts
	n := len(d.X) / d.Cols
	for j := 0; j < d.Cols; j++ {
		if !d.Categories.IsCategorical(j) {
			continue
		}
		l := d.Categories.Columns[j]
		m := l.NumLevels()
		nb[j], cuts[j] = max(m, 1), nil
		for i := 0; i < n; i++ {
			v := d.X[i*d.Cols+j]
			switch {
			case math.IsNaN(v):
				bins[j][i] = model.MissingBin
			case v != math.Trunc(v) || v < 0 || v >= float64(m):
				return nil, nil, nil, fmt.Errorf("%w: column %q, row %d: %v is not one of its %d levels", model.ErrCategories, l.Column, i, v, m)
			default:
				bins[j][i] = uint8(v)
			}
		}
	}
	return bins, nb, cuts, nil
}

// Local bins a party's columns and computes their counts, WOE and IV in
// plaintext with the labels data.Y: what the bank does for its own columns,
// and the plaintext reference of the federated computation. A categorical
// column's bins are its levels. Keep is left false.
func Local(data Data, opt Options) ([]Column, error) {
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkData(data, true); err != nil {
		return nil, err
	}
	bins, nb, cuts, err := dataBins(data, o.Bins)
	if err != nil {
		return nil, err
	}
	cols := make([]Column, data.Cols)
	for j := range cols {
		c, err := model.CountBins(bins[j], nb[j], data.Y)
		if err != nil {
			return nil, err
		}
		l, levels := (*model.Levels)(nil), -1
		if data.Categories.IsCategorical(j) {
			l = data.Categories.Columns[j]
			levels = l.NumLevels()
		}
		if cols[j], err = finish(o, model.Active, j, name(data.Names, "bank", j), c, levels); err != nil {
			return nil, err
		}
		if l != nil {
			cols[j].Labels = l.Names()
			continue
		}
		cuts := cuts[j]
		if cols[j].Ends != nil {
			if cuts, err = model.MergedCuts(cuts, cols[j].Ends); err != nil {
				return nil, err
			}
		}
		cols[j].Cuts = slices.Clone(cuts)
	}
	return cols, nil
}

func name(names []string, party string, j int) string {
	if names != nil {
		return names[j]
	}
	return fmt.Sprintf("%s_%d", party, j)
}

// finish merges (optimal method) and computes WOE and IV of one column's
// quantile-bin counts, or of a categorical column's level counts (levels
// >= 0 levels; -1 for a numeric column).
func finish(o Options, party model.Role, j int, nm string, c model.BinCounts, levels int) (Column, error) {
	col := Column{Party: party, Index: j, Name: nm, QuantileBins: c.NumBins(), Counts: c}
	switch {
	case levels == 0: // every training row missing: one empty bin
		col.LevelBins = []int{}
	case levels > 0 && o.Method == Optimal:
		lb, err := model.OptimalLevelBins(c, o.Merge)
		if err != nil {
			return col, fmt.Errorf("column %s: %w", nm, err)
		}
		if col.Counts, err = c.MergeLevels(lb, slices.Max(lb)+1); err != nil {
			return col, err
		}
		col.LevelBins = lb
	case levels > 0:
		col.LevelBins = make([]int, levels)
		for l := range col.LevelBins {
			col.LevelBins[l] = l
		}
	case o.Method == Optimal:
		ends, err := model.OptimalBins(c, o.Merge)
		if err != nil {
			return col, fmt.Errorf("column %s: %w", nm, err)
		}
		if col.Counts, err = c.Merge(ends); err != nil {
			return col, err
		}
		col.Ends = ends
	}
	w, err := col.Counts.WOE(o.Adjustment)
	if err != nil {
		return col, fmt.Errorf("column %s: %w", nm, err)
	}
	col.ColumnWOE = w
	return col, nil
}

// TrainActive runs the bank's side over its Data, labels included (rows
// in the agreed order); seed is the session's joint seed. The center runs
// TrainPassive.
func TrainActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options) (_ *ActiveResult, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	start := time.Now()
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	y, d := data.Y, data.Cols
	n := len(y)
	own, err := Local(data, o)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := fl.SendJSON(ctx, t, TypeSetup, setup{Version: protocolVersion, Options: o, Rows: n}); err != nil {
		return nil, err
	}
	var ack setupAck
	if err := fl.RecvJSON(ctx, t, TypeSetupAck, &ack); err != nil {
		return nil, err
	}
	if ack.Version != protocolVersion || ack.Rows != n || len(ack.Bins) == 0 || len(ack.Bins) > 1<<16 || (ack.Names != nil && len(ack.Names) != len(ack.Bins)) ||
		(ack.Levels != nil && len(ack.Levels) != len(ack.Bins)) || (ack.Labels != nil && (len(ack.Labels) != len(ack.Bins) || ack.Names == nil)) {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center answers version %d with %d rows, %d columns, %d names, %d level counts and %d label lists; the bank has %d rows",
			ErrProtocol, ack.Version, ack.Rows, len(ack.Bins), len(ack.Names), len(ack.Levels), len(ack.Labels), n))
	}
	K := 1
	for f, nb := range ack.Bins {
		levels := centerLevels(ack, f)
		switch {
		case levels < -1 || levels > model.MaxBins || (levels >= 0 && nb != max(levels, 1)):
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center column %d has %d bins for %d levels", ErrProtocol, f, nb, levels))
		case levels < 0 && (nb < 1 || nb > o.Bins):
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center column %d has %d bins", ErrProtocol, f, nb))
		case ack.Labels != nil && len(ack.Labels[f]) != max(levels, 0):
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center column %d names %d levels of %d", ErrProtocol, f, len(ack.Labels[f]), levels))
		}
		K = max(K, nb)
	}
	p := params()
	party, err := joint.GenerateKeysWith(ctx, t, p, keySpec().Peer(), seed, joint.KeyOptions{Progress: opt.KeyProgress, Logger: opt.Logger})
	if err != nil {
		return nil, err
	}
	// The labels as event indicators, scaled to fill the decryption
	// headroom so that the flooding noise is far below 1/2.
	scale := math.Exp2(math.Floor(countHeadroom - math.Log2(float64(max(n, 1)))))
	ev := make([]float64, n)
	for i, v := range y {
		ev[i] = v * scale
	}
	// Seeded under the bank's own key share (half the bytes); the center
	// joins it. The histogram noise bound (he.HistNoiseBound) is derived
	// for such inputs.
	enc, err := party.EncryptCoeffsSeeded(ev, he.HistogramChunk(p, K, len(ack.Bins), n))
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	payload, err := p.MarshalSeededVector(enc)
	if err != nil {
		return nil, err
	}
	if err := t.Send(ctx, fl.Message{Type: TypeLabels, Payload: payload}); err != nil {
		return nil, err
	}
	b, err := fl.Expect(ctx, t, TypeHist)
	if err != nil {
		return nil, err
	}
	parts, err := fl.SplitParts(b, 3)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center's histograms: %w", ErrProtocol, err))
	}
	F := len(ack.Bins)
	v, err := p.UnmarshalVector(parts[0])
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("woe: counts from the center: %w", err))
	}
	share, err := p.UnmarshalDecryptionShare(parts[1])
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("woe: decryption share from the center: %w", err))
	}
	if err := joint.CheckVector(p, v, "event counts", joint.VectorWant{Layout: he.CoeffGrid, Len: F * K, Level: joint.AnyLevel}); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	cum, err := party.Decrypt(v, share)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	rows, err := decodeRowCounts(parts[2], ack.Bins, n)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	E := 0.0
	for _, v := range y {
		E += v
	}
	res := &ActiveResult{Bank: own, Transform: model.WOETransform{Categories: data.Categories}}
	for f, nb := range ack.Bins {
		c := model.BinCounts{Events: make([]float64, nb), NonEvents: make([]float64, nb)}
		prev := 0.0
		for b := 0; b < nb; b++ {
			v := cum[f*K+b] / scale
			r := math.Round(v)
			if math.Abs(v-r) > 0.25 || r < prev {
				return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center column %d bin %d: cumulative count %v is not a count", ErrProtocol, f, b, v))
			}
			c.Events[b] = r - prev
			c.NonEvents[b] = rows[f][b] - c.Events[b]
			prev = r
		}
		c.MissingEvents = E - prev
		c.MissingNonEvents = rows[f][nb] - c.MissingEvents
		if err := c.Validate(); err != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center column %d: more events than rows in a bin: %v", ErrProtocol, f, err))
		}
		col, err := finish(o, model.Passive, f, name(ack.Names, "center", f), c, centerLevels(ack, f))
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		if ack.Labels != nil && col.LevelBins != nil {
			col.Labels = ack.Labels[f]
		}
		res.Center = append(res.Center, col)
	}
	// Selection across both parties.
	ivs := make([]float64, 0, d+F)
	for _, c := range res.Bank {
		ivs = append(ivs, c.IV)
	}
	for _, c := range res.Center {
		ivs = append(ivs, c.IV)
	}
	keep, err := o.Select.Select(ivs)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	var msg result
	mask := newMasker()
	for _, k := range keep {
		if k < d {
			c := &res.Bank[k]
			c.Keep = true
			var wc model.WOEColumn
			if c.LevelBins != nil {
				wc, err = model.NewCategoricalWOEColumn(c.LevelBins, c.ColumnWOE)
			} else {
				wc, err = model.NewWOEColumn(c.Cuts, c.ColumnWOE)
			}
			if err != nil {
				return nil, fl.Fail(ctx, t, err)
			}
			res.Transform.Source = append(res.Transform.Source, k)
			res.Transform.Columns = append(res.Transform.Columns, wc)
			continue
		}
		c := &res.Center[k-d]
		c.Keep = true
		a, b := mask.next()
		rc := resultColumn{Index: c.Index, Ends: c.Ends, LevelBins: c.LevelBins, Values: make([]float64, len(c.WOE)), Missing: a*c.MissingWOE + b}
		for i, w := range c.WOE {
			rc.Values[i] = a*w + b
		}
		msg.Columns = append(msg.Columns, rc)
	}
	if err := fl.SendJSON(ctx, t, TypeResult, msg); err != nil {
		return nil, err
	}
	res.Stats, res.Duration = t.Stats(), time.Since(start)
	return res, nil
}

// centerLevels is the number of levels of the center's column f, -1 for
// a numeric column.
func centerLevels(ack setupAck, f int) int {
	if ack.Levels == nil {
		return -1
	}
	return ack.Levels[f]
}

// masker draws the secret affine maps a*WOE + b (a in [1/2, 2), b in
// [-1, 1)) that hide the center's WOE values from it.
type masker struct{ r *rand.Rand }

func newMasker() masker {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand panics otherwise)
	return masker{rand.New(rand.NewChaCha8(seed))}
}

func (m masker) next() (a, b float64) {
	return 0.5 + 1.5*m.r.Float64(), 2*m.r.Float64() - 1
}

// TrainPassive runs the center's side over its Data (no labels; rows in
// the agreed order). The bank learns which of its columns are categorical
// and how many levels each has (their bins), and the columns' and levels'
// names only with Data.Names.
func TrainPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*PassiveResult, error) {
	return TrainPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// TrainPassiveWith is TrainPassive with the center's local settings.
func TrainPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (_ *PassiveResult, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	start := time.Now()
	if err := checkData(data, false); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	x, d, names := data.X, data.Cols, data.Names
	n := len(x) / d
	var s setup
	if err := fl.RecvJSON(ctx, t, TypeSetup, &s); err != nil {
		return nil, err
	}
	if s.Version != protocolVersion {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank speaks woe version %d, this center %d", ErrProtocol, s.Version, protocolVersion))
	}
	o, err := s.Options.WithDefaults()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if s.Rows != n {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank has %d rows, the center %d", ErrProtocol, s.Rows, n))
	}
	if max := he.Hist13.MaxRows; n > max {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d rows, over the %d the counts' noise bound holds for (he.Hist13 MaxRows)", he.ErrLimit, n, max))
	}
	bins, nb, cuts, err := dataBins(data, o.Bins)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	K := slices.Max(nb)
	ack := setupAck{Version: protocolVersion, Rows: n, Bins: nb, Names: names}
	if data.Categories.Any() {
		ack.Levels = make([]int, d)
		if names != nil {
			ack.Labels = make([][]string, d)
		}
		for j := range ack.Levels {
			ack.Levels[j] = -1
			if data.Categories.IsCategorical(j) {
				l := data.Categories.Columns[j]
				ack.Levels[j] = l.NumLevels()
				if names != nil {
					ack.Labels[j] = l.Names()
				}
			}
		}
	}
	if err := fl.SendJSON(ctx, t, TypeSetupAck, ack); err != nil {
		return nil, err
	}
	p := params()
	party, err := joint.GenerateKeysWith(ctx, t, p, keySpec(), seed, joint.KeyOptions{Progress: local.KeyProgress, Logger: local.Logger})
	if err != nil {
		return nil, err
	}
	b, err := fl.Expect(ctx, t, TypeLabels)
	if err != nil {
		return nil, err
	}
	sv, err := p.UnmarshalSeededVector(b)
	var labels *he.Vector
	if err == nil {
		labels, err = party.Join(sv)
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("woe: labels from the bank: %w", err))
	}
	if err := joint.CheckVector(p, labels, "labels", joint.VectorWant{Layout: he.Coeff, Len: n, Level: p.MaxLevel()}); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	hs, err := party.Histograms([]*he.Vector{labels}, he.HistogramSpec{Bins: bins, K: K})
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("woe: counting the bank's labels: %w", err))
	}
	h := hs[0]
	party.DropToDecryptLevel(h)
	// A function of the bank's label ciphertexts and the center's bins:
	// fresh randomness before it leaves (he.Rerandomize).
	if err := party.Rerandomize(h); err != nil {
		return nil, err
	}
	plan := DisclosurePlan(len(bins), K).HeldBy(ctx, fl.RolePassive)
	if err := plan.Admit(p, StepCounts, h); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	share, err := party.DecryptShare(h)
	if err != nil {
		return nil, err
	}
	mv, err := p.MarshalVector(h)
	if err != nil {
		return nil, err
	}
	ms, err := p.MarshalDecryptionShare(share)
	if err != nil {
		return nil, err
	}
	if err := t.Send(ctx, fl.Message{Type: TypeHist, Payload: fl.JoinParts(mv, ms, encodeRowCounts(bins, nb))}); err != nil {
		return nil, err
	}
	var r result
	if err := fl.RecvJSON(ctx, t, TypeResult, &r); err != nil {
		return nil, err
	}
	res := &PassiveResult{Transform: model.WOETransform{Categories: data.Categories}}
	for _, c := range r.Columns {
		if c.Index < 0 || c.Index >= d || (len(res.Keep) > 0 && c.Index <= res.Keep[len(res.Keep)-1]) {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: result for column %d", ErrProtocol, c.Index))
		}
		if data.Categories.IsCategorical(c.Index) {
			wc, err := levelResult(c, data.Categories.Columns[c.Index].NumLevels(), o)
			if err != nil {
				return nil, fl.Fail(ctx, t, err)
			}
			res.Keep = append(res.Keep, c.Index)
			res.Transform.Source = append(res.Transform.Source, c.Index)
			res.Transform.Columns = append(res.Transform.Columns, wc)
			continue
		}
		if c.LevelBins != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: level bins for numeric column %d", ErrProtocol, c.Index))
		}
		cuts := cuts[c.Index]
		if c.Ends != nil {
			if o.Method != Optimal {
				return nil, fl.Fail(ctx, t, fmt.Errorf("%w: merged bins for column %d under the quantile method", ErrProtocol, c.Index))
			}
			if cuts, err = model.MergedCuts(cuts, c.Ends); err != nil {
				return nil, fl.Fail(ctx, t, fmt.Errorf("%w: column %d: %v", ErrProtocol, c.Index, err))
			}
		}
		wc := model.WOEColumn{Cuts: slices.Clone(cuts), Values: c.Values, Missing: c.Missing}
		if err := wc.Validate(); err != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: column %d: %v", ErrProtocol, c.Index, err))
		}
		res.Keep = append(res.Keep, c.Index)
		res.Transform.Source = append(res.Transform.Source, c.Index)
		res.Transform.Columns = append(res.Transform.Columns, wc)
	}
	res.Stats, res.Duration = t.Stats(), time.Since(start)
	return res, nil
}

// levelResult is the center's transform of its categorical column c.Index
// of the given number of levels, from the bank's result: one bin per level
// under the quantile method, the bank's merge of them under the optimal.
func levelResult(c resultColumn, levels int, o Options) (model.WOEColumn, error) {
	if c.Ends != nil || len(c.LevelBins) != levels {
		return model.WOEColumn{}, fmt.Errorf("%w: column %d of %d levels: bins for %d levels (and %d ends)", ErrProtocol, c.Index, levels, len(c.LevelBins), len(c.Ends))
	}
	if o.Method != Optimal && len(c.Values) != max(levels, 1) {
		return model.WOEColumn{}, fmt.Errorf("%w: column %d: %d values for %d levels under the quantile method", ErrProtocol, c.Index, len(c.Values), levels)
	}
	for l, b := range c.LevelBins {
		if o.Method != Optimal && b != l {
			return model.WOEColumn{}, fmt.Errorf("%w: column %d: level %d merged under the quantile method", ErrProtocol, c.Index, l)
		}
	}
	wc := model.WOEColumn{Cuts: nil, LevelBins: slices.Clone(c.LevelBins), Values: c.Values, Missing: c.Missing}
	if wc.LevelBins == nil {
		wc.LevelBins = []int{}
	}
	if err := wc.Validate(); err != nil {
		return model.WOEColumn{}, fmt.Errorf("%w: column %d: %v", ErrProtocol, c.Index, err)
	}
	return wc, nil
}

// encodeRowCounts lists the number of rows in each bin of each column, the
// missing bin last (nb[f]+1 little-endian uint32 per column).
func encodeRowCounts(bins [][]uint8, nb []int) []byte {
	var b []byte
	for f, col := range bins {
		counts := make([]uint32, nb[f]+1)
		for _, v := range col {
			if v == model.MissingBin {
				counts[nb[f]]++
			} else {
				counts[v]++
			}
		}
		for _, c := range counts {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
	}
	return b
}

// decodeRowCounts reads encodeRowCounts' list for the columns of nb bins,
// each column's counts adding up to n rows.
func decodeRowCounts(b []byte, nb []int, n int) ([][]float64, error) {
	want := 0
	for _, k := range nb {
		want += 4 * (k + 1)
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes of row counts, want %d", ErrProtocol, len(b), want)
	}
	out := make([][]float64, len(nb))
	for f, k := range nb {
		out[f] = make([]float64, k+1)
		sum := 0
		for j := range out[f] {
			c := binary.LittleEndian.Uint32(b)
			b = b[4:]
			out[f][j] = float64(c)
			sum += int(c)
		}
		if sum != n {
			return nil, fmt.Errorf("%w: center column %d counts %d rows, not %d", ErrProtocol, f, sum, n)
		}
	}
	return out, nil
}

// ScorePassive is the center's side of federated scorecard scoring: it
// sends the partial points of its half for the rows of x (its raw columns,
// row-major n x d, rows in the agreed order). The bank learns them, as it
// learns the center's partial scores in vlr.PredictPassive. It first
// compares the bank's half's training id with its own and refuses halves
// of different trainings (ErrTraining) before any point leaves.
func ScorePassive(ctx context.Context, t fl.Transport, half *model.ScorecardHalf, x []float64, d int) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	var s scoreSetup
	if err := fl.RecvJSON(ctx, t, TypeScoreSetup, &s); err != nil {
		return err
	}
	if s.Version != scoreVersion {
		return fl.Fail(ctx, t, fmt.Errorf("%w: the bank speaks woe scoring version %d, this center %d", ErrProtocol, s.Version, scoreVersion))
	}
	if err := checkTraining(s.Training, half.Training); err != nil {
		return fl.Fail(ctx, t, err)
	}
	if d < 1 || len(x)%d != 0 {
		return fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns", model.ErrShape, len(x), d))
	}
	if s.Rows != len(x)/d {
		return fl.Fail(ctx, t, fmt.Errorf("%w: the bank scores %d rows, the center %d", ErrProtocol, s.Rows, len(x)/d))
	}
	pts := make([]float64, len(x)/d)
	if err := half.PartialPoints(x, d, pts); err != nil {
		return fl.Fail(ctx, t, err)
	}
	return t.Send(ctx, fl.Message{Type: TypePoints, Payload: fl.AppendFloats(nil, pts)})
}

// ScoreActive is the bank's side: it adds its own partial points (base
// included) to the center's and returns each row's score. It sends its
// half's training id first; the center refuses halves of different
// trainings, and the error names both ids.
func ScoreActive(ctx context.Context, t fl.Transport, half *model.ScorecardHalf, x []float64, d int) (_ []float64, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	if d < 1 || len(x)%d != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns", model.ErrShape, len(x), d))
	}
	n := len(x) / d
	pts := make([]float64, n)
	if err := half.PartialPoints(x, d, pts); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := fl.SendJSON(ctx, t, TypeScoreSetup, scoreSetup{Version: scoreVersion, Training: half.Training, Rows: n}); err != nil {
		return nil, err
	}
	b, err := fl.Expect(ctx, t, TypePoints)
	if err != nil {
		return nil, err
	}
	theirs, err := fl.ParseFloats(b, n)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center's points for %d rows: %w", ErrProtocol, n, err))
	}
	for i, v := range theirs {
		pts[i] += v
	}
	return pts, nil
}

// StepCounts is the disclosure step of the center's event counts.
const StepCounts = "woe.counts"

// DisclosurePlan returns what federated WOE/IV decrypts to the bank: one
// vector of the cumulative event counts of each of the center's columns'
// K bins (the center also sends each bin's row count in the clear), at the
// decryption level and scale of he.Hist13. The center, which releases it,
// admits it against the plan it holds (joint.Plan.HeldBy).
func DisclosurePlan(centerCols, K int) *joint.Plan {
	set := params().Set()
	return joint.NewPlan(joint.Disclosure{Step: StepCounts, To: fl.RoleActive,
		What:   fmt.Sprintf("the cumulative event counts of the center's %d columns' bins", centerCols),
		Layout: he.CoeffGrid, Len: centerCols * K, Level: set.DecryptLevel, LogScale: set.LogScale, Vectors: 1, Values: centerCols * K})
}
