package model

import (
	"fmt"
	"io"
	"slices"
)

// ScorecardVersion is the version of the ScorecardHalf file format.
const ScorecardVersion = 1

// ScorecardFeature is one feature of a WOE scorecard: its bins (as in
// WOEColumn) and the points each bin scores. A categorical feature has no
// cuts: it keeps its encoding (Levels, fitted on the training rows) and the
// bin of each level (LevelBins), so that the card reads any table by label;
// a label unseen in training scores MissingPoints.
type ScorecardFeature struct {
	Name string `json:"name"`
	// Column is the feature's index among the party's raw columns.
	Column        int       `json:"column"`
	Cuts          []float64 `json:"cuts"`
	Levels        *Levels   `json:"levels,omitempty"`
	LevelBins     []int     `json:"level_bins,omitempty"`
	Points        []float64 `json:"points"`
	MissingPoints float64   `json:"missing_points"`
}

// woeColumn is f's bins with its points as values.
func (f *ScorecardFeature) woeColumn() WOEColumn {
	c := WOEColumn{Cuts: f.Cuts, LevelBins: f.LevelBins, Values: f.Points, Missing: f.MissingPoints}
	if f.Levels != nil && c.LevelBins == nil {
		c.LevelBins = []int{} // no level (the JSON leaves an empty list out)
	}
	return c
}

// ScorecardHalf is one party's half of a WOE scorecard: the points of its
// own features' bins. A row's score is the sum of both halves' partial
// points, which equals Scorecard.PointsFromLogit of the logistic regression
// the card was built from. The bank's half also holds the base points (the
// offset and the intercept's share); the center's base is 0.
type ScorecardHalf struct {
	Version int  `json:"version"`
	Party   Role `json:"party"`
	// Training names the training that produced the half, as in LRHalf.
	Training   string             `json:"training,omitempty"`
	BasePoints float64            `json:"base_points"`
	Features   []ScorecardFeature `json:"features"`
}

// NewScorecardHalf turns one party's half of a logistic regression trained
// on WOE columns into points per bin. t is the party's WOE transform (its
// Source indexing the raw columns, its Columns the bins and WOE values the
// LR saw), names its raw columns' names, std and weights the LR half's
// standardizer and weights over t's columns, intercept the bank's (0 for the
// center). The points of bin b of feature k are
//
//	-factor * weights[k] * std(Values[b])
//
// with factor = PDO/ln 2 of sc, so that the points of a row add up, with
// the base offset - factor*intercept, to sc.PointsFromLogit(logit). A
// categorical WOE column's feature takes its levels from t.Categories.
func NewScorecardHalf(party Role, names []string, t WOETransform, std Standardizer, weights []float64, intercept float64, sc Scorecard) (*ScorecardHalf, error) {
	m := len(t.Columns)
	if len(t.Source) != m || len(weights) != m || std.Dim() != m {
		return nil, fmt.Errorf("%w: %d WOE columns, %d sources, %d weights, standardizer of %d", ErrShape, m, len(t.Source), len(weights), std.Dim())
	}
	offset, factor := sc.scale()
	h := &ScorecardHalf{Version: ScorecardVersion, Party: party}
	if party == Active {
		h.BasePoints = offset - factor*intercept
	} else if intercept != 0 {
		return nil, fmt.Errorf("%w: intercept %v on the passive half", ErrBadModel, intercept)
	}
	if err := std.Validate(); err != nil {
		return nil, err
	}
	pointsOf := func(k int, v float64) (float64, error) {
		z := (v - std.Mean[k]) / std.Std[k] // as Standardizer.Transform
		if std.Clip > 0 {
			z = max(-std.Clip, min(std.Clip, z))
		}
		return -factor * weights[k] * z, nil
	}
	for k, col := range t.Columns {
		if err := col.Validate(); err != nil {
			return nil, err
		}
		s := t.Source[k]
		if s < 0 || s >= len(names) {
			return nil, fmt.Errorf("%w: WOE column %d reads column %d of %d names", ErrShape, k, s, len(names))
		}
		if err := t.checkEncoding(k); err != nil {
			return nil, err
		}
		f := ScorecardFeature{Name: names[s], Column: s, Cuts: slices.Clone(col.Cuts), Points: make([]float64, len(col.Values))}
		if col.Categorical() {
			l := levelsOf(t.Categories, s)
			if l == nil {
				return nil, fmt.Errorf("%w: WOE column %d (%s) maps levels, but the transform has no encoding of them (WOETransform.Categories)", ErrCategories, k, names[s])
			}
			f.Cuts, f.LevelBins = []float64{}, slices.Clone(col.LevelBins)
			f.Levels = &Levels{Column: l.Column, Labels: slices.Clone(l.Labels), Folded: slices.Clone(l.Folded)}
		}
		for b, v := range col.Values {
			p, err := pointsOf(k, v)
			if err != nil {
				return nil, err
			}
			f.Points[b] = p
		}
		p, err := pointsOf(k, col.Missing)
		if err != nil {
			return nil, err
		}
		f.MissingPoints = p
		h.Features = append(h.Features, f)
	}
	return h, h.Validate()
}

// Validate checks h the way LoadScorecardHalf checks a file; errors wrap
// ErrBadModel and name the field at fault.
func (h *ScorecardHalf) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: scorecard: "+format, append([]any{ErrBadModel}, a...)...)
	}
	if h.Version != ScorecardVersion {
		return bad("version %d, this build reads version %d", h.Version, ScorecardVersion)
	}
	if !h.Party.Valid() {
		return bad("party %q, want %q or %q", h.Party, Active, Passive)
	}
	if !finite(h.BasePoints) {
		return bad("base points %v", h.BasePoints)
	}
	if h.Party == Passive && h.BasePoints != 0 {
		return bad("base points %v on the passive half, want 0", h.BasePoints)
	}
	seen := map[int]bool{}
	for k, f := range h.Features {
		if f.Name == "" {
			return bad("features[%d] has no name", k)
		}
		if f.Column < 0 || f.Column > 1<<20 {
			return bad("features[%d] (%s) reads column %d", k, f.Name, f.Column)
		}
		if seen[f.Column] {
			return bad("features[%d] (%s) repeats column %d", k, f.Name, f.Column)
		}
		seen[f.Column] = true
		if err := f.woeColumn().Validate(); err != nil {
			return bad("features[%d] (%s): %v", k, f.Name, err)
		}
		switch {
		case f.Levels == nil && f.LevelBins != nil:
			return bad("features[%d] (%s) has level_bins without levels", k, f.Name)
		case f.Levels == nil:
		case len(f.LevelBins) != f.Levels.NumLevels():
			return bad("features[%d] (%s) bins %d levels of %d", k, f.Name, len(f.LevelBins), f.Levels.NumLevels())
		default:
			if err := checkLevels(f.Levels, f.Name); err != nil {
				return bad("features[%d]: %v", k, err)
			}
		}
	}
	return nil
}

// Encode returns a copy of x, the party's raw columns (row-major, d
// columns), with each categorical feature's column mapped from its codes,
// indexes into that table's own dictionary categories[j] (as
// dataset.Table.Categories holds them; nil when the table has no
// categorical column), to the card's levels: NaN for a label unseen in
// training, which scores the feature's missing points. A feature
// categorical on the card and numeric in the table, or the reverse, is an
// ErrCategories error naming it; the table's other columns are copied as
// they are.
func (h *ScorecardHalf) Encode(categories [][]string, x []float64, d int) ([]float64, error) {
	if d < 1 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values in rows of %d columns", ErrShape, len(x), d)
	}
	if categories != nil && len(categories) != d {
		return nil, fmt.Errorf("%w: %d dictionaries for %d columns", ErrCategories, len(categories), d)
	}
	out := slices.Clone(x)
	for _, f := range h.Features {
		if f.Column >= d {
			return nil, fmt.Errorf("%w: scorecard feature %s reads column %d of %d", ErrShape, f.Name, f.Column, d)
		}
		var dict []string
		if categories != nil {
			dict = categories[f.Column]
		}
		switch {
		case f.Levels == nil && dict == nil:
			continue
		case f.Levels == nil:
			return nil, fmt.Errorf("%w: column %q holds text, but was numeric in training", ErrCategories, f.Name)
		case dict == nil:
			return nil, fmt.Errorf("%w: column %q was categorical in training, but holds numbers", ErrCategories, f.Name)
		}
		c := &Categories{Columns: []*Levels{f.Levels}}
		col := make([]float64, len(x)/d)
		for i := range col {
			col[i] = x[i*d+f.Column]
		}
		enc, err := c.Encode([][]string{dict}, col, 1)
		if err != nil {
			return nil, err
		}
		for i, v := range enc {
			out[i*d+f.Column] = v
		}
	}
	return out, nil
}

// Save validates h and writes it as indented JSON.
func (h *ScorecardHalf) Save(w io.Writer) error {
	return saveJSON(w, "scorecard half", h, h.Validate)
}

// LoadScorecardHalf reads a ScorecardHalf written by Save, with the checks
// of loadJSON and Validate.
func LoadScorecardHalf(r io.Reader) (*ScorecardHalf, error) {
	h := new(ScorecardHalf)
	if err := loadJSON(r, "scorecard half", ScorecardVersion, h, h.Validate); err != nil {
		return nil, err
	}
	return h, nil
}

// PartialPoints writes to dst, one value per row, this half's share of the
// score: BasePoints plus the points of each feature's bin. x holds the
// party's raw columns, row-major n x d with NaN for missing and categorical
// features as levels (Encode), and dst has length n. Federated (and
// encrypted) scoring adds the two halves' partial points.
func (h *ScorecardHalf) PartialPoints(x []float64, d int, dst []float64) error {
	if d < 1 || len(x)%d != 0 || len(x)/d != len(dst) {
		return fmt.Errorf("%w: %d values in rows of %d columns for %d outputs", ErrShape, len(x), d, len(dst))
	}
	cols := make([]WOEColumn, len(h.Features))
	for k, f := range h.Features {
		if f.Column >= d {
			return fmt.Errorf("%w: scorecard feature %s reads column %d of %d", ErrShape, f.Name, f.Column, d)
		}
		cols[k] = f.woeColumn()
	}
	for i := range dst {
		s := h.BasePoints
		for k, f := range h.Features {
			v := x[i*d+f.Column]
			if !cols[k].checkLevel(v) {
				return fmt.Errorf("%w: scorecard feature %s, row %d: %v is not one of its %d levels", ErrCategories, f.Name, i, v, len(f.LevelBins))
			}
			s += cols[k].Value(v)
		}
		dst[i] = s
	}
	return nil
}
