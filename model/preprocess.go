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
