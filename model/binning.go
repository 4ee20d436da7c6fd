package model

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// MissingBin is the bin of a missing (NaN) value. Bins of present values run
// from 0 to len(Cuts[col]), so a column has at most MaxBins of them.
const MissingBin = 255

// MaxBins is the largest number of bins of present values a column may have:
// the bins must fit a uint8 beside MissingBin.
const MaxBins = 255

// Binning maps each column's values to small integer bins, the input of the
// histogram-based tree trainers.
//
// Cuts[col] holds the column's split candidates, strictly ascending and
// finite. The bin of a present value v is the index of the first cut >= v:
//
//	bin(v) = sort.SearchFloat64s(Cuts[col], v)
//
// so values <= Cuts[col][0] are in bin 0, values in (Cuts[col][k-1],
// Cuts[col][k]] in bin k, and values above the last cut in bin
// len(Cuts[col]); NaN is in MissingBin. A split "bin <= k goes left" is
// therefore the threshold rule "v <= Cuts[col][k] goes left" on raw values.
//
// A categorical column (Categorical[col]) holds level codes 0..L-1 (see
// Categories.Encode) and its bins are its levels: its cuts are 0, 1, ...,
// L-2, so that the rule above puts level k in bin k, and a split sends a
// set of levels left (Node.LeftBins) rather than the bins up to a cut. Its
// levels have no order the trees could use: a threshold on them would
// split by the labels' byte order.
type Binning struct {
	Cuts [][]float64 `json:"cuts"`
	// Categorical marks the categorical columns; nil when every column is
	// numeric, so that a numeric binning's JSON is what it was before
	// categorical columns existed.
	Categorical []bool `json:"categorical,omitempty"`
}

// IsCategorical reports whether column col is categorical.
func (b Binning) IsCategorical(col int) bool {
	return col >= 0 && col < len(b.Categorical) && b.Categorical[col]
}

// Dim returns the number of columns.
func (b Binning) Dim() int { return len(b.Cuts) }

// NumBins returns the number of bins of present values of column col,
// len(Cuts[col]) + 1.
func (b Binning) NumBins(col int) int { return len(b.Cuts[col]) + 1 }

// Sizes returns every column's number of bins of present values and the
// largest of them (at least 1): the histogram width the kernels need.
func (b Binning) Sizes() (perColumn []int, widest int) {
	perColumn, widest = make([]int, b.Dim()), 1
	for c := range perColumn {
		perColumn[c] = b.NumBins(c)
		widest = max(widest, perColumn[c])
	}
	return perColumn, widest
}

// Validate checks that every column has fewer than MaxBins cuts, all finite
// and strictly ascending, and that a categorical column's cuts are its
// levels 0, 1, ..., L-2. Its errors wrap ErrBadModel and name the column.
func (b Binning) Validate() error {
	if b.Categorical != nil && len(b.Categorical) != len(b.Cuts) {
		return fmt.Errorf("%w: categorical marks %d columns, cuts %d", ErrBadModel, len(b.Categorical), len(b.Cuts))
	}
	for j, c := range b.Cuts {
		if b.IsCategorical(j) {
			for k, v := range c {
				if v != float64(k) {
					return fmt.Errorf("%w: cuts[%d][%d] = %v in a categorical column, want its level %d", ErrBadModel, j, k, v, k)
				}
			}
		}
		if len(c) >= MaxBins {
			return fmt.Errorf("%w: cuts[%d] has %d cuts, at most %d allowed", ErrBadModel, j, len(c), MaxBins-1)
		}
		for k, v := range c {
			if !finite(v) {
				return fmt.Errorf("%w: cuts[%d][%d] is %v", ErrBadModel, j, k, v)
			}
			if k > 0 && !(v > c[k-1]) {
				return fmt.Errorf("%w: cuts[%d][%d] = %v does not exceed cuts[%d][%d] = %v", ErrBadModel, j, k, v, j, k-1, c[k-1])
			}
		}
	}
	return nil
}

// FitBinning chooses the cuts of each column of x, row-major n x d with NaN
// for missing, so that each column has at most maxBins bins of present
// values (2 <= maxBins <= MaxBins). The cuts are those of XGBoost 1.7's hist
// method (max_bin = maxBins) computed on an exact quantile summary; XGBoost's
// own summary is approximate for columns of more than a few thousand
// distinct values, so its cuts there may sit a few ranks away.
//
// Per column, let v_0 < ... < v_{u-1} be its distinct present values, and
// r_j and R_j the numbers of present values < v_j and <= v_j. XGBoost keeps
// a summary S of at most maxBins+1 of the v_j: all of them when u <=
// maxBins+1; otherwise v_0, then for k = 1 .. maxBins-1 the value v_j chosen
// for the target rank t_k = R_0 + k (r_{u-1} - R_0) / maxBins, then v_{u-1}
// (each value once). For t_k, let i be the largest index >= 1 with i = 1 or
// (r_i + R_i)/2 <= t_k; if i = u-1 the choosing stops, otherwise j = i if
// t_k < R_i, else i+1. XGBoost's bin boundaries lie just below the 2nd to
// the maxBins-th values of S (a present value < boundary goes to the lower
// bin); the cut of each is here the distinct value just below it, so that
// both put every training value in the same bin. In particular a column of
// at most maxBins distinct values gets the cuts v_0 .. v_{u-2}: each value
// has its own bin, its rank.
//
// A column with no present values, or a single distinct one, has no cuts.
// Infinite values are rejected (ErrNotFinite).
func FitBinning(x []float64, d, maxBins int) (Binning, error) {
	return FitBinningCategorical(x, d, maxBins, nil)
}

// FitBinningCategorical is FitBinning for a matrix whose columns marked in
// categorical (nil: none; else one entry per column) hold level codes
// 0..L-1 or NaN, as Categories.Encode writes them. Such a column's bins are
// its levels, L of them, L the largest code present plus one (at least 1);
// a code that is not a whole number from 0 to maxBins-1 is an error
// (ErrCategories) naming its row and column, not the value (a federated
// party's error reaches its peer): with more levels than bins, fit the
// levels with at most maxBins (FitCategories' max).
func FitBinningCategorical(x []float64, d, maxBins int, categorical []bool) (Binning, error) {
	if d <= 0 || len(x)%d != 0 {
		return Binning{}, fmt.Errorf("%w: %d values in %d columns", ErrShape, len(x), d)
	}
	if maxBins < 2 || maxBins > MaxBins {
		return Binning{}, fmt.Errorf("%w: %d bins, want 2 to %d", ErrOptions, maxBins, MaxBins)
	}
	if categorical != nil && len(categorical) != d {
		return Binning{}, fmt.Errorf("%w: %d categorical marks for %d columns", ErrShape, len(categorical), d)
	}
	for i, v := range x {
		if math.IsInf(v, 0) {
			return Binning{}, fmt.Errorf("%w: row %d column %d is %v", ErrNotFinite, i/d, i%d, v)
		}
	}
	n := len(x) / d
	b := Binning{Cuts: make([][]float64, d)}
	if slices.Contains(categorical, true) {
		b.Categorical = slices.Clone(categorical)
	}
	for j := range b.Categorical {
		if !b.Categorical[j] {
			continue
		}
		levels := 1
		for i := j; i < len(x); i += d {
			v := x[i]
			if math.IsNaN(v) {
				continue
			}
			if v != math.Trunc(v) || v < 0 || v >= float64(maxBins) {
				return Binning{}, fmt.Errorf("%w: row %d column %d holds no level code from 0 to %d (at most %d levels, one per bin)", ErrCategories, i/d, j, maxBins-1, maxBins)
			}
			levels = max(levels, int(v)+1)
		}
		b.Cuts[j] = levelCuts(levels)
	}
	byColumn(d, func() func(j int) {
		col := make([]float64, 0, n)
		var keys, tmp []uint64
		return func(j int) {
			if b.IsCategorical(j) {
				return
			}
			col = col[:0]
			for i := 0; i < n; i++ {
				if v := x[i*d+j]; !math.IsNaN(v) {
					col = append(col, v)
				}
			}
			keys, tmp = sortFloats(col, keys, tmp)
			b.Cuts[j] = columnCuts(col, maxBins)
		}
	})
	return b, nil
}

// byColumn runs the functions that newWorker returns on the columns 0..d-1,
// each column once, in GOMAXPROCS goroutines at most. Each goroutine gets
// its own worker, so that it can keep scratch space.
func byColumn(d int, newWorker func() func(j int)) {
	workers := min(runtime.GOMAXPROCS(0), d)
	if workers < 2 {
		w := newWorker()
		for j := 0; j < d; j++ {
			w(j)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker()
			for j := int(next.Add(1) - 1); j < d; j = int(next.Add(1) - 1) {
				w(j)
			}
		}()
	}
	wg.Wait()
}

// sortFloats sorts s, free of NaN, ascending: by a radix sort on keys that
// order as the values do when s is long, which is several times faster than
// a comparison sort on the columns of a training set. It returns its scratch
// space for reuse.
func sortFloats(s []float64, keys, tmp []uint64) ([]uint64, []uint64) {
	n := len(s)
	if n < 512 {
		slices.Sort(s)
		return keys, tmp
	}
	keys, tmp = slices.Grow(keys[:0], n)[:n], slices.Grow(tmp[:0], n)[:n]
	for i, v := range s {
		k := math.Float64bits(v)
		if k>>63 == 1 {
			k = ^k // negative: larger magnitude first
		} else {
			k |= 1 << 63
		}
		keys[i] = k
	}
	var count [256]int
	for shift := 0; shift < 64; shift += 8 {
		clear(count[:])
		for _, k := range keys {
			count[byte(k>>shift)]++
		}
		if count[byte(keys[0]>>shift)] == n {
			continue // all keys share this byte
		}
		pos := 0
		for b, c := range count {
			count[b] = pos
			pos += c
		}
		for _, k := range keys {
			b := byte(k >> shift)
			tmp[count[b]] = k
			count[b]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		if k>>63 == 1 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		s[i] = math.Float64frombits(k)
	}
	return keys, tmp
}

// columnCuts returns the cuts of one column's present values, sorted
// ascending (see FitBinning).
func columnCuts(s []float64, maxBins int) []float64 {
	// The exact summary: distinct values with their rank bounds r and R.
	var vals, r, R []float64
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		vals = append(vals, s[i])
		r = append(r, float64(i))
		R = append(R, float64(j))
		i = j
	}
	u := len(vals)
	var sel []int // indices into vals of the pruned summary
	if u <= maxBins+1 {
		for j := 0; j < u; j++ {
			sel = append(sel, j)
		}
	} else {
		// WQSummary::SetPrune(src, maxBins+1) on an exact summary, whose
		// RMinNext(i) and RMaxPrev(i+1) are both R_i.
		sel = append(sel, 0)
		begin, span := R[0], r[u-1]-R[0]
		i := 1
		for k := 1; k < maxBins; k++ {
			t := float64(k)*span/float64(maxBins) + begin
			for i < u-1 && 2*t >= r[i+1]+R[i+1] {
				i++
			}
			if i == u-1 {
				break
			}
			j := i
			if t >= R[i] {
				j = i + 1
			}
			if j != sel[len(sel)-1] {
				sel = append(sel, j)
			}
		}
		if sel[len(sel)-1] != u-1 {
			sel = append(sel, u-1)
		}
	}
	cuts := []float64{}
	for q := 1; q < min(len(sel), maxBins); q++ {
		cuts = append(cuts, vals[sel[q]-1])
	}
	return cuts
}

// levelCuts are the cuts of a categorical column of L levels: 0..L-2.
func levelCuts(levels int) []float64 {
	cuts := make([]float64, levels-1)
	for k := range cuts {
		cuts[k] = float64(k)
	}
	return cuts
}

// Bin returns the bins of x, row-major n x d with NaN for missing, feature
// major: out[j][i] is the bin of row i in column j (see Binning). ±Inf fall
// in the first and last bins. In a categorical column a level code is its
// bin, and a whole number at or above the column's bins, a level training
// never saw, is missing, as an unseen label is (Categories.Encode); any
// other value is an error (ErrCategories) naming its row and column, not
// the value.
func (b Binning) Bin(x []float64, d int) ([][]uint8, error) {
	if d != len(b.Cuts) || d == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values in %d columns, binning of %d columns", ErrShape, len(x), d, len(b.Cuts))
	}
	if err := b.checkLevels(x, d); err != nil {
		return nil, err
	}
	n := len(x) / d
	out := make([][]uint8, d)
	byColumn(d, func() func(j int) {
		return func(j int) {
			col := make([]uint8, n)
			cuts := b.Cuts[j]
			if b.IsCategorical(j) {
				for i := range col {
					col[i] = levelBin(len(cuts)+1, x[i*d+j])
				}
			} else {
				for i := range col {
					col[i] = binOf(cuts, x[i*d+j])
				}
			}
			out[j] = col
		}
	})
	return out, nil
}

// checkLevels refuses a value of a categorical column of x that is neither
// missing nor a whole number >= 0.
func (b Binning) checkLevels(x []float64, d int) error {
	for j, cat := range b.Categorical {
		if !cat {
			continue
		}
		for i := j; i < len(x); i += d {
			if v := x[i]; !math.IsNaN(v) && (v != math.Trunc(v) || v < 0 || math.IsInf(v, 1)) {
				return fmt.Errorf("%w: row %d column %d holds no level code", ErrCategories, i/d, j)
			}
		}
	}
	return nil
}

// levelBin is the bin of a level code v (checked by checkLevels) in a
// categorical column of nb bins.
func levelBin(nb int, v float64) uint8 {
	if math.IsNaN(v) || v >= float64(nb) {
		return MissingBin
	}
	return uint8(v)
}

// binOf is the bin of v under cuts; cuts has fewer than MaxBins entries.
func binOf(cuts []float64, v float64) uint8 {
	if math.IsNaN(v) {
		return MissingBin
	}
	return uint8(sort.SearchFloat64s(cuts, v))
}
