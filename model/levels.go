package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// DefaultMaxLevels is the default cap on a categorical column's levels,
// like the bins of a numeric one.
const DefaultMaxLevels = 32

// OtherLabel names the level the rarest labels of a column are folded into
// when it has more than its cap.
const OtherLabel = "other"

// ErrCategories reports categorical columns that do not match their
// encoding: a column categorical in one table and numeric in another, or a
// dictionary that does not fit its codes.
var ErrCategories = errors.New("model: categorical columns")

// Levels is the encoding of one categorical column, fitted on a party's
// training rows: the labels it keeps, each a level, in byte order, and,
// when the column had more labels than its cap, one level more for the
// rarest labels folded together (Folded lists them). A label seen in
// training encodes to its level (or to the folded level); a missing cell
// and a label never seen in training encode to NaN: missing, which trees
// route by their learned default and one-hot LR encodes as all zeros.
type Levels struct {
	Column string   `json:"column"`
	Labels []string `json:"labels"`
	// Folded are the training labels counted in the last level, OtherLabel
	// (nil when nothing was folded).
	Folded []string `json:"folded,omitempty"`
}

// NumLevels is the number of levels: len(Labels), plus one when labels
// were folded.
func (l *Levels) NumLevels() int {
	if len(l.Folded) > 0 {
		return len(l.Labels) + 1
	}
	return len(l.Labels)
}

// Names returns the levels' names: the kept labels, then OtherLabel when
// labels were folded.
func (l *Levels) Names() []string {
	if len(l.Folded) > 0 {
		return append(slices.Clone(l.Labels), OtherLabel)
	}
	return slices.Clone(l.Labels)
}

// Code returns the level of a label: its index among Labels, the folded
// level for a folded label, NaN for a label unseen in training.
func (l *Levels) Code(label string) float64 {
	if k, ok := slices.BinarySearch(l.Labels, label); ok {
		return float64(k)
	}
	if _, ok := slices.BinarySearch(l.Folded, label); ok {
		return float64(len(l.Labels))
	}
	return math.NaN()
}

// FitLevels fits a column's levels on training rows: codes holds each
// row's index into labels (the column's dictionary, as dataset.Table keeps
// it) or NaN for missing. Labels no row uses are dropped. With more than
// max labels (0: DefaultMaxLevels), the max-1 most frequent are kept (ties
// to the earlier label in byte order) and the others folded into one level.
func FitLevels(column string, labels []string, codes []float64, max int) (*Levels, error) {
	if max == 0 {
		max = DefaultMaxLevels
	}
	if max < 2 {
		return nil, fmt.Errorf("%w: at most %d levels for column %q, want at least 2", ErrOptions, max, column)
	}
	count := make([]int, len(labels))
	for i, v := range codes {
		if math.IsNaN(v) {
			continue
		}
		k := int(v)
		if float64(k) != v || k < 0 || k >= len(labels) {
			return nil, fmt.Errorf("%w: column %q, row %d: code %v outside its %d labels", ErrCategories, column, i, v, len(labels))
		}
		count[k]++
	}
	var used []int
	for k, c := range count {
		if c > 0 {
			used = append(used, k)
		}
	}
	l := &Levels{Column: column}
	if len(used) > max {
		slices.SortStableFunc(used, func(a, b int) int {
			if c := cmp.Compare(count[b], count[a]); c != 0 {
				return c
			}
			return cmp.Compare(labels[a], labels[b])
		})
		for _, k := range used[max-1:] {
			l.Folded = append(l.Folded, labels[k])
		}
		used = used[:max-1]
		slices.Sort(l.Folded)
	}
	for _, k := range used {
		l.Labels = append(l.Labels, labels[k])
	}
	slices.Sort(l.Labels)
	if len(slices.Compact(slices.Clone(l.Labels))) != len(l.Labels) {
		return nil, fmt.Errorf("%w: column %q has a repeated label", ErrCategories, column)
	}
	return l, nil
}

// Categories is a party's encoding of its categorical columns: one Levels
// per feature column, nil for a numeric one. The zero value (no column
// categorical) encodes nothing.
type Categories struct {
	Columns []*Levels `json:"columns,omitempty"`
}

// FitCategories fits the levels of every categorical column of a party's
// training table: categories[j] is column j's dictionary (nil for a
// numeric column; a nil categories means none is categorical), x its rows,
// row-major with d = len(names) columns, codes in the categorical columns.
func FitCategories(names []string, categories [][]string, x []float64, max int) (*Categories, error) {
	d := len(names)
	c := &Categories{}
	if categories == nil {
		return c, nil
	}
	if len(categories) != d || d == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d dictionaries for %d columns", ErrCategories, len(categories), d)
	}
	n := len(x) / d
	c.Columns = make([]*Levels, d)
	col := make([]float64, n)
	for j, labels := range categories {
		if labels == nil {
			continue
		}
		for i := range col {
			col[i] = x[i*d+j]
		}
		l, err := FitLevels(names[j], labels, col, max)
		if err != nil {
			return nil, err
		}
		c.Columns[j] = l
	}
	return c, nil
}

// Any reports whether some column is categorical.
func (c *Categories) Any() bool {
	return c != nil && slices.ContainsFunc(c.Columns, func(l *Levels) bool { return l != nil })
}

// IsCategorical reports whether column j is categorical.
func (c *Categories) IsCategorical(j int) bool {
	return c != nil && j < len(c.Columns) && c.Columns[j] != nil
}

// Encode returns a copy of x (row-major, d columns) with each categorical
// column's codes, indexes into that table's own dictionary categories[j],
// replaced by the column's levels (NaN for missing and unseen labels); the
// numeric columns are copied unchanged. A table's dictionary may differ from
// the training table's (a test file, new enterprises): the labels decide. A
// column categorical in the encoding and numeric in the table, or the
// reverse, is an error naming it.
func (c *Categories) Encode(categories [][]string, x []float64, d int) ([]float64, error) {
	if d <= 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values do not make rows of %d columns", ErrShape, len(x), d)
	}
	if c.Any() && len(c.Columns) != d {
		return nil, fmt.Errorf("%w: an encoding of %d columns for a table of %d", ErrCategories, len(c.Columns), d)
	}
	out := slices.Clone(x)
	for j := 0; j < d; j++ {
		var dict []string
		if categories != nil {
			if len(categories) != d {
				return nil, fmt.Errorf("%w: %d dictionaries for %d columns", ErrCategories, len(categories), d)
			}
			dict = categories[j]
		}
		l := (*Levels)(nil)
		if c.IsCategorical(j) {
			l = c.Columns[j]
		}
		switch {
		case l == nil && dict == nil:
			continue
		case l == nil:
			return nil, fmt.Errorf("%w: column %d holds text, but was numeric in training", ErrCategories, j+1)
		case dict == nil:
			return nil, fmt.Errorf("%w: column %q was categorical in training, but holds numbers", ErrCategories, l.Column)
		}
		level := make([]float64, len(dict))
		for k, label := range dict {
			level[k] = l.Code(label)
		}
		for i := j; i < len(out); i += d {
			v := out[i]
			if math.IsNaN(v) {
				continue
			}
			k := int(v)
			if float64(k) != v || k < 0 || k >= len(dict) {
				return nil, fmt.Errorf("%w: column %q, row %d: code %v outside its %d labels", ErrCategories, l.Column, i/d, v, len(dict))
			}
			out[i] = level[k]
		}
	}
	return out, nil
}
