package model

import (
	"fmt"
	"math"
)

// Standardizer holds the per-column mean and standard deviation of one
// party's feature columns, fitted on that party's training rows alone.
// Transform imputes a missing value (NaN) with the column mean, so it becomes
// 0 after standardizing. The fields serialise to JSON as they are.
type Standardizer struct {
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
	// Clip, when positive, limits standardized values to [-Clip, Clip]
	// (winsorizing). FitStandardizer leaves it 0, no limit. Training with a
	// polynomial sigmoid needs it when a few outlying rows push the logit
	// far outside the interval the polynomial was fitted on; see TrainLR.
	Clip float64 `json:"clip,omitempty"`
}

// FitStandardizer fits a Standardizer to x, row-major n x d with NaN for
// missing values. Each column's mean and population standard deviation
// (divisor n, as scikit-learn's StandardScaler) are taken over its non-missing
// values; a column with zero spread gets Std 1 and an all-missing column Mean 0
// and Std 1. ±Inf is rejected.
//
// scikit-learn's SimpleImputer followed by StandardScaler differs only on
// columns with missing values: it takes the standard deviation after
// imputing, which shrinks it by sqrt(non-missing/n).
func FitStandardizer(x []float64, d int) (Standardizer, error) {
	if d <= 0 || len(x)%d != 0 {
		return Standardizer{}, fmt.Errorf("%w: %d values do not make rows of %d columns", ErrShape, len(x), d)
	}
	n := len(x) / d
	s := Standardizer{Mean: make([]float64, d), Std: make([]float64, d)}
	count := make([]int, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			if math.IsInf(v, 0) {
				return Standardizer{}, fmt.Errorf("%w: row %d column %d is %v", ErrNotFinite, i, j, v)
			}
			if !math.IsNaN(v) {
				s.Mean[j] += v
				count[j]++
			}
		}
	}
	for j := range s.Mean {
		if count[j] > 0 {
			s.Mean[j] /= float64(count[j])
		}
	}
	// Second pass for the variance: centred sums keep precision on columns
	// with a large mean.
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			if !math.IsNaN(v) {
				dv := v - s.Mean[j]
				s.Std[j] += dv * dv
			}
		}
	}
	for j := range s.Std {
		if count[j] > 0 {
			s.Std[j] = math.Sqrt(s.Std[j] / float64(count[j]))
		}
		if !(s.Std[j] > 0) {
			s.Std[j] = 1
		}
	}
	return s, nil
}

// Dim returns the number of columns.
func (s *Standardizer) Dim() int { return len(s.Mean) }

// Validate checks that Mean and Std have one length, every mean is finite,
// every standard deviation finite and positive, and Clip finite and >= 0.
func (s *Standardizer) Validate() error {
	if len(s.Mean) != len(s.Std) {
		return fmt.Errorf("%w: standardizer has %d means and %d standard deviations", ErrShape, len(s.Mean), len(s.Std))
	}
	for j := range s.Mean {
		if math.IsNaN(s.Mean[j]) || math.IsInf(s.Mean[j], 0) {
			return fmt.Errorf("%w: standardizer mean[%d] is %v", ErrNotFinite, j, s.Mean[j])
		}
		if !(s.Std[j] > 0) || math.IsInf(s.Std[j], 0) {
			return fmt.Errorf("%w: standardizer std[%d] is %v, want finite and positive", ErrNotFinite, j, s.Std[j])
		}
	}
	if !(s.Clip >= 0) || math.IsInf(s.Clip, 0) {
		return fmt.Errorf("%w: standardizer clip is %v, want finite and >= 0", ErrNotFinite, s.Clip)
	}
	return nil
}

// Transform writes the standardized x to dst: (v - Mean[j]) / Std[j], limited
// to [-Clip, Clip] when Clip > 0, and 0 for a missing (NaN) value. x is
// row-major n x Dim(); dst must have the same length and may be x itself.
func (s *Standardizer) Transform(x, dst []float64) error {
	d := s.Dim()
	if d == 0 || len(x)%d != 0 {
		return fmt.Errorf("%w: %d values do not make rows of %d columns", ErrShape, len(x), d)
	}
	if len(dst) != len(x) {
		return fmt.Errorf("%w: destination of %d values for %d", ErrShape, len(dst), len(x))
	}
	if len(s.Std) != d {
		return fmt.Errorf("%w: standardizer has %d means and %d standard deviations", ErrShape, d, len(s.Std))
	}
	for i, v := range x {
		j := i % d
		if math.IsNaN(v) {
			dst[i] = 0
			continue
		}
		v = (v - s.Mean[j]) / s.Std[j]
		if s.Clip > 0 {
			v = max(-s.Clip, min(s.Clip, v))
		}
		dst[i] = v
	}
	return nil
}

// JoinColumns returns the rows of a (row-major, da columns) and b (db
// columns) side by side: [a | b], the layout of the centralized references,
// bank columns first. a and b must have the same number of rows.
func JoinColumns(a []float64, da int, b []float64, db int) []float64 {
	n := len(a) / da
	out := make([]float64, 0, n*(da+db))
	for i := 0; i < n; i++ {
		out = append(out, a[i*da:(i+1)*da]...)
		out = append(out, b[i*db:(i+1)*db]...)
	}
	return out
}

// OneHotWidth returns the number of columns d raw columns take once each
// categorical column is one-hot encoded (OneHot): one per level of a
// categorical column, one per numeric column.
func (c *Categories) OneHotWidth(d int) int {
	w := 0
	for j := 0; j < d; j++ {
		if c.IsCategorical(j) {
			w += c.Columns[j].NumLevels()
		} else {
			w++
		}
	}
	return w
}

// OneHotNames names the columns OneHot makes of the raw columns names: a
// numeric column keeps its name, a categorical column becomes one
// "name=level" per level (Levels.Names), in its place. Model files keep
// these names so that a reader sees which weight belongs to which level.
func (c *Categories) OneHotNames(names []string) []string {
	out := make([]string, 0, c.OneHotWidth(len(names)))
	for j, name := range names {
		if !c.IsCategorical(j) {
			out = append(out, name)
			continue
		}
		for _, l := range c.Columns[j].Names() {
			out = append(out, name+"="+l)
		}
	}
	return out
}

// OneHot returns x (row-major, d columns) with each categorical column
// replaced, in place, by one 0/1 column per level: the input LR reads, so
// that each level gets its own weight instead of a weight on an arbitrary
// code. x's categorical columns hold levels, as Encode returns them; a
// missing level (NaN: a missing cell, or a label unseen in training) is all
// zeros, so it scores like no level at all rather than like an average one.
// Numeric columns are copied unchanged, NaN included (the standardizer
// imputes it). The result is row-major with OneHotWidth(d) columns; when no
// column is categorical it is x itself, not a copy. A cell of a categorical
// column that is not one of its levels is an ErrCategories error naming the
// column and row.
func (c *Categories) OneHot(x []float64, d int) ([]float64, error) {
	if d <= 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values do not make rows of %d columns", ErrShape, len(x), d)
	}
	if !c.Any() {
		return x, nil
	}
	if len(c.Columns) != d {
		return nil, fmt.Errorf("%w: an encoding of %d columns for rows of %d", ErrCategories, len(c.Columns), d)
	}
	n, w := len(x)/d, c.OneHotWidth(d)
	out := make([]float64, n*w)
	for i := 0; i < n; i++ {
		row, dst := x[i*d:(i+1)*d], out[i*w:(i+1)*w]
		k := 0
		for j, v := range row {
			l := c.Columns[j]
			if l == nil {
				dst[k] = v
				k++
				continue
			}
			m := l.NumLevels()
			if !math.IsNaN(v) {
				if v != math.Trunc(v) || v < 0 || v >= float64(m) {
					return nil, fmt.Errorf("%w: column %q, row %d: %v is not one of its %d levels", ErrCategories, l.Column, i, v, m)
				}
				dst[k+int(v)] = 1
			}
			k += m
		}
	}
	return out, nil
}
