package model

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/floats"
)

// LRVersion is the version of the LRHalf file format that Save writes and
// LoadLRHalf reads.
const LRVersion = 1

// Role says which side of a vertically split model a party is. It is one
// type for the model halves here and the protocols' handshake (fl.Role is
// this type), so a role never travels as a bare string. Its values are the
// party names model files hold, so files written before the type existed
// load unchanged.
type Role string

const (
	Active  Role = "active"  // the bank: labels, its own features, the intercept
	Passive Role = "passive" // the credit center: features only
)

// Valid reports whether r is Active or Passive.
func (r Role) Valid() bool { return r == Active || r == Passive }

// LRHalf is one party's half of a vertically split logistic regression:
// its own features, its own standardizer and weights. The model's logit of
// default for a row is the sum of both halves' partial scores, and its
// probability of default PredictProba(active, passive).
//
// A half with categorical features carries their encoding (Categories), so
// that it scores any table, whose dictionaries are its own, as it scored
// its training rows: Encode maps the table's labels to the half's levels,
// PartialScore one-hot encodes them. A half of numeric features writes the
// same file as before categories existed; a build that predates them
// refuses a half with categories (an unknown field) rather than misread it.
type LRHalf struct {
	Version int  `json:"version"`
	Party   Role `json:"party"`
	// Training names the training that produced the half (job.TrainingID),
	// the same in both halves of one model; "" for a half from elsewhere.
	Training string `json:"training,omitempty"`
	// Features are the raw columns the half reads, in the order of x in
	// PartialScore.
	Features []string `json:"features"`
	// Categories is nil when every feature is numeric. Otherwise it holds
	// one entry per feature, the levels of a categorical one (fitted on the
	// party's training rows) and nil for a numeric one; LR reads each
	// categorical feature as one 0/1 column per level (Categories.OneHot),
	// so the standardizer and the weights cover the one-hot columns.
	Categories *Categories `json:"categories,omitempty"`
	// OneHot names the one-hot columns, Categories.OneHotNames(Features):
	// the layout of Standardizer and Weights when Categories is set, empty
	// otherwise (the layout is then Features).
	OneHot       []string     `json:"one_hot,omitempty"`
	Standardizer Standardizer `json:"standardizer"`
	// Weights holds one weight per column of the layout: per feature, or
	// per one-hot column when Categories is set.
	Weights []float64 `json:"weights"`
	// Intercept belongs to the active half; it is 0 on the passive half.
	Intercept float64 `json:"intercept"`
	// Sigmoid records the polynomial coefficients, lowest degree first, that
	// training used in place of the logistic function; empty for the exact
	// one. Informational: scoring always uses the exact logistic function.
	Sigmoid []float64 `json:"sigmoid,omitempty"`
}

// Validate checks h the way LoadLRHalf checks a file. The errors wrap
// ErrBadModel and name the field at fault.
func (h *LRHalf) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadModel}, a...)...)
	}
	if h.Version != LRVersion {
		return bad("version %d, this build reads version %d", h.Version, LRVersion)
	}
	if !h.Party.Valid() {
		return bad("party %q, want %q or %q", h.Party, Active, Passive)
	}
	d := len(h.Features)
	seen := make(map[string]bool, d)
	for j, f := range h.Features {
		if f == "" {
			return bad("features[%d] is empty", j)
		}
		if seen[f] {
			return bad("features[%d] %q repeats", j, f)
		}
		seen[f] = true
	}
	cols := h.Columns()
	if h.Categories != nil {
		if err := checkCategories(h.Categories, h.Features); err != nil {
			return bad("%v", err)
		}
		if !slices.Equal(h.OneHot, cols) {
			return bad("one_hot lists %d columns, the encoding of the features makes %d (%s)", len(h.OneHot), len(cols), strings.Join(cols, ", "))
		}
	} else if len(h.OneHot) != 0 {
		return bad("one_hot lists %d columns without categories", len(h.OneHot))
	}
	w := len(cols)
	if len(h.Weights) != w {
		return bad("%d weights for %d columns", len(h.Weights), w)
	}
	if len(h.Standardizer.Mean) != w || len(h.Standardizer.Std) != w {
		return bad("standardizer has %d means and %d std for %d columns", len(h.Standardizer.Mean), len(h.Standardizer.Std), w)
	}
	if err := h.Standardizer.Validate(); err != nil {
		return bad("%v", err)
	}
	for j, v := range h.Weights {
		if !finite(v) {
			return bad("weights[%d] (%s) is %v", j, cols[j], v)
		}
	}
	if !finite(h.Intercept) {
		return bad("intercept is %v", h.Intercept)
	}
	if h.Party == Passive && h.Intercept != 0 {
		return bad("intercept %v on the passive half, want 0", h.Intercept)
	}
	for k, c := range h.Sigmoid {
		if !finite(c) {
			return bad("sigmoid[%d] is %v", k, c)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Columns names the columns Standardizer and Weights cover: Features, or
// their one-hot columns when some feature is categorical.
func (h *LRHalf) Columns() []string {
	if h.Categories == nil {
		return h.Features
	}
	return h.Categories.OneHotNames(h.Features)
}

// checkCategories checks an encoding read from a file against the columns
// it encodes: one entry per column, at least one categorical, each named
// after its column, with labels and folded labels sorted, distinct and
// apart, as Levels.Code's binary search needs. The errors wrap
// ErrCategories.
func checkCategories(c *Categories, names []string) error {
	if len(c.Columns) != len(names) {
		return fmt.Errorf("%w: %d encodings for %d features", ErrCategories, len(c.Columns), len(names))
	}
	if !c.Any() {
		return fmt.Errorf("%w: categories set, but no feature is categorical (leave it out)", ErrCategories)
	}
	for j, l := range c.Columns {
		if l != nil {
			if err := checkLevels(l, names[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLevels checks one column's levels (see checkCategories).
func checkLevels(l *Levels, column string) error {
	if l.Column != column {
		return fmt.Errorf("%w: the levels of %q are named %q", ErrCategories, column, l.Column)
	}
	for _, list := range [][]string{l.Labels, l.Folded} {
		for k := 1; k < len(list); k++ {
			if list[k-1] >= list[k] {
				return fmt.Errorf("%w: column %q: labels %q before %q are not sorted and distinct", ErrCategories, column, list[k-1], list[k])
			}
		}
	}
	for _, f := range l.Folded {
		if _, ok := slices.BinarySearch(l.Labels, f); ok {
			return fmt.Errorf("%w: column %q: label %q is both kept and folded", ErrCategories, column, f)
		}
	}
	if len(l.Folded) > 0 && len(l.Labels) == 0 {
		return fmt.Errorf("%w: column %q folds labels but keeps none", ErrCategories, column)
	}
	return nil
}

// Save validates h and writes it as indented JSON.
func (h *LRHalf) Save(w io.Writer) error { return saveJSON(w, "LR half", h, h.Validate) }

// LoadLRHalf reads an LRHalf written by Save. It rejects, with errors wrapping
// ErrBadModel, files of another version, unknown fields, trailing data, and
// every inconsistency Validate finds.
func LoadLRHalf(r io.Reader) (*LRHalf, error) {
	h := new(LRHalf)
	if err := loadJSON(r, "LR half", LRVersion, h, h.Validate); err != nil {
		return nil, err
	}
	return h, nil
}

// Encode returns a copy of x, the party's raw features in Features order
// (row-major, NaN for missing), with each categorical feature's codes,
// indexes into that table's own dictionary categories[j] (as
// dataset.Table.Categories holds them, restricted to Features; nil when the
// table has no categorical column), replaced by the half's levels: NaN for
// a label unseen in training, which PartialScore encodes as no level. A
// feature categorical in the half and numeric in the table, or the reverse,
// is an ErrCategories error naming it.
func (h *LRHalf) Encode(categories [][]string, x []float64) ([]float64, error) {
	return encodeFeatures(h.Categories, h.Features, categories, x)
}

// encodeFeatures is Encode for the raw columns names, with c nil when none
// is categorical.
func encodeFeatures(c *Categories, names []string, categories [][]string, x []float64) ([]float64, error) {
	d := len(names)
	if categories != nil && len(categories) != d {
		return nil, fmt.Errorf("%w: %d dictionaries for %d features", ErrCategories, len(categories), d)
	}
	for j, dict := range categories {
		if dict != nil && !c.IsCategorical(j) {
			return nil, fmt.Errorf("%w: column %q holds text, but was numeric in training", ErrCategories, names[j])
		}
	}
	if d == 0 {
		if len(x) != 0 {
			return nil, fmt.Errorf("%w: %d values for a model without features", ErrShape, len(x))
		}
		return nil, nil
	}
	if c == nil {
		c = &Categories{}
	}
	return c.Encode(categories, x, d)
}

// PartialScore writes to dst, one value per row, this half's share of the
// logit: standardize(x)·Weights, plus Intercept on the active half. x holds
// the party's raw features, row-major n x len(Features), NaN for missing;
// a categorical feature holds its levels, as Encode returns them, which
// PartialScore one-hot encodes first. dst has length n.
func (h *LRHalf) PartialScore(x, dst []float64) error {
	d := len(h.Features)
	if d == 0 || len(h.Weights) == 0 {
		if (d == 0 && len(x) != 0) || (d > 0 && len(x) != d*len(dst)) {
			return fmt.Errorf("%w: %d values and %d outputs for %d features", ErrShape, len(x), len(dst), d)
		}
		for i := range dst {
			dst[i] = h.Intercept
		}
		return nil
	}
	if len(x)%d != 0 || len(x)/d != len(dst) {
		return fmt.Errorf("%w: %d values and %d outputs for %d features", ErrShape, len(x), len(dst), d)
	}
	x, err := h.Categories.OneHot(x, d)
	if err != nil {
		return err
	}
	w := len(h.Weights)
	if len(x) != w*len(dst) {
		return fmt.Errorf("%w: %d encoded values for %d outputs of %d columns", ErrShape, len(x), len(dst), w)
	}
	row := make([]float64, w)
	for i := range dst {
		if err := h.Standardizer.Transform(x[i*w:(i+1)*w], row); err != nil {
			return err
		}
		dst[i] = h.Intercept + floats.Dot(row, h.Weights)
	}
	return nil
}

// PredictProba returns the probability of default from the two halves'
// partial scores: Logistic(active + passive).
func PredictProba(active, passive float64) float64 { return Logistic(active + passive) }

// Logistic returns 1/(1+e^-z), computed without overflow for any z.
func Logistic(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
