package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// BinCounts holds the event (label 1, default) and non-event (label 0)
// counts of one column's bins: one entry per bin of present values in bin
// order, and the missing bin apart. Counts may be weighted, so they are
// float64, but they must be finite and non-negative.
type BinCounts struct {
	Events           []float64 `json:"events"`
	NonEvents        []float64 `json:"non_events"`
	MissingEvents    float64   `json:"missing_events"`
	MissingNonEvents float64   `json:"missing_non_events"`
}

// CountBins counts events and non-events per bin of one binned column
// (bins[i] the bin of row i, MissingBin for missing; see Binning.Bin) with
// numBins bins of present values. Labels must be 0 or 1.
func CountBins(bins []uint8, numBins int, y []float64) (BinCounts, error) {
	if len(bins) != len(y) {
		return BinCounts{}, fmt.Errorf("%w: %d bins and %d labels", ErrShape, len(bins), len(y))
	}
	if numBins < 1 || numBins > MaxBins {
		return BinCounts{}, fmt.Errorf("%w: %d bins, want 1 to %d", ErrOptions, numBins, MaxBins)
	}
	c := BinCounts{Events: make([]float64, numBins), NonEvents: make([]float64, numBins)}
	for i, b := range bins {
		if y[i] != 0 && y[i] != 1 {
			return BinCounts{}, fmt.Errorf("%w: labels[%d] = %v, want 0 or 1", ErrLabels, i, y[i])
		}
		switch {
		case b == MissingBin:
			c.MissingEvents += y[i]
			c.MissingNonEvents += 1 - y[i]
		case int(b) >= numBins:
			return BinCounts{}, fmt.Errorf("%w: row %d in bin %d of %d", ErrShape, i, b, numBins)
		default:
			c.Events[b] += y[i]
			c.NonEvents[b] += 1 - y[i]
		}
	}
	return c, nil
}

// NumBins returns the number of bins of present values.
func (c BinCounts) NumBins() int { return len(c.Events) }

// Totals returns the events and non-events over all bins, missing included.
func (c BinCounts) Totals() (events, nonEvents float64) {
	events, nonEvents = c.MissingEvents, c.MissingNonEvents
	for b := range c.Events {
		events += c.Events[b]
		nonEvents += c.NonEvents[b]
	}
	return events, nonEvents
}

// Validate checks that c has at least one bin, as many event as non-event
// counts, all finite and non-negative. Its errors wrap ErrShape or
// ErrNotFinite.
func (c BinCounts) Validate() error {
	if len(c.Events) == 0 || len(c.Events) != len(c.NonEvents) {
		return fmt.Errorf("%w: %d event and %d non-event counts", ErrShape, len(c.Events), len(c.NonEvents))
	}
	ok := func(v float64) bool { return finite(v) && v >= 0 }
	for b := range c.Events {
		if !ok(c.Events[b]) || !ok(c.NonEvents[b]) {
			return fmt.Errorf("%w: bin %d counts %v events and %v non-events", ErrNotFinite, b, c.Events[b], c.NonEvents[b])
		}
	}
	if !ok(c.MissingEvents) || !ok(c.MissingNonEvents) {
		return fmt.Errorf("%w: missing bin counts %v events and %v non-events", ErrNotFinite, c.MissingEvents, c.MissingNonEvents)
	}
	return nil
}

// Merge returns the counts of the merged bins that ends describes: merged
// bin k holds the bins ends[k-1]+1 .. ends[k] (from 0 for k = 0). ends must
// rise strictly and end at NumBins()-1 (see CheckEnds). The missing bin is
// never merged.
func (c BinCounts) Merge(ends []int) (BinCounts, error) {
	if err := CheckEnds(ends, c.NumBins()); err != nil {
		return BinCounts{}, err
	}
	m := BinCounts{Events: make([]float64, len(ends)), NonEvents: make([]float64, len(ends)),
		MissingEvents: c.MissingEvents, MissingNonEvents: c.MissingNonEvents}
	lo := 0
	for k, e := range ends {
		for b := lo; b <= e; b++ {
			m.Events[k] += c.Events[b]
			m.NonEvents[k] += c.NonEvents[b]
		}
		lo = e + 1
	}
	return m, nil
}

// CheckEnds checks merged-bin ends over numBins bins: strictly rising,
// within [0, numBins-1], the last numBins-1. Its errors wrap ErrShape.
func CheckEnds(ends []int, numBins int) error {
	if len(ends) == 0 || ends[len(ends)-1] != numBins-1 {
		return fmt.Errorf("%w: merged bin ends %v must end at the last of %d bins", ErrShape, ends, numBins)
	}
	for k, e := range ends {
		if e < 0 || (k > 0 && e <= ends[k-1]) {
			return fmt.Errorf("%w: merged bin ends %v must rise strictly from 0", ErrShape, ends)
		}
	}
	return nil
}

// MergedCuts returns the cuts of the merged bins that ends describes over
// the bins of cuts (see Binning and BinCounts.Merge): a merged bin's upper
// cut is the upper cut of its last bin.
func MergedCuts(cuts []float64, ends []int) ([]float64, error) {
	if err := CheckEnds(ends, len(cuts)+1); err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(ends)-1)
	for _, e := range ends[:len(ends)-1] {
		out = append(out, cuts[e])
	}
	return out, nil
}

// OptimalLevelBins merges the levels of a categorical column (c holds one
// bin per level) into at most opt.MaxBins bins by OptimalBins on the levels in
// order of event rate (ties: the lower level first), and returns the bin of
// each level; bins are numbered from the lowest event rate (highest WOE)
// up. Levels have no order of their own: the codes follow the labels' byte
// order, so merging neighbours in code order, as numeric bins merge, would
// join unrelated categories. In event-rate order every merge joins
// categories of similar risk, and the merged bins' WOE stays monotone in
// their numbering.
func OptimalLevelBins(c BinCounts, opt MergeOptions) ([]int, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	nb := c.NumBins()
	order := make([]int, nb)
	for l := range order {
		order[l] = l
	}
	rate := func(l int) float64 { return group{e: c.Events[l], ne: c.NonEvents[l]}.rate() }
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rate(a), rate(b)) })
	sorted := BinCounts{Events: make([]float64, nb), NonEvents: make([]float64, nb),
		MissingEvents: c.MissingEvents, MissingNonEvents: c.MissingNonEvents}
	for k, l := range order {
		sorted.Events[k], sorted.NonEvents[k] = c.Events[l], c.NonEvents[l]
	}
	ends, err := OptimalBins(sorted, opt)
	if err != nil {
		return nil, err
	}
	bins := make([]int, nb)
	b := 0
	for k, l := range order {
		if k > ends[b] {
			b++
		}
		bins[l] = b
	}
	return bins, nil
}

// MergeLevels returns the counts of numBins merged bins, level (bin) l of c
// going to merged bin levelBins[l]; the missing bin is never merged. Every
// merged bin must receive at least one level.
func (c BinCounts) MergeLevels(levelBins []int, numBins int) (BinCounts, error) {
	if len(levelBins) != c.NumBins() {
		return BinCounts{}, fmt.Errorf("%w: %d level bins for %d levels", ErrShape, len(levelBins), c.NumBins())
	}
	if numBins < 1 || numBins > c.NumBins() {
		return BinCounts{}, fmt.Errorf("%w: %d merged bins of %d levels", ErrShape, numBins, c.NumBins())
	}
	m := BinCounts{Events: make([]float64, numBins), NonEvents: make([]float64, numBins),
		MissingEvents: c.MissingEvents, MissingNonEvents: c.MissingNonEvents}
	used := make([]bool, numBins)
	for l, b := range levelBins {
		if b < 0 || b >= numBins {
			return BinCounts{}, fmt.Errorf("%w: level %d in merged bin %d of %d", ErrShape, l, b, numBins)
		}
		m.Events[b] += c.Events[l]
		m.NonEvents[b] += c.NonEvents[l]
		used[b] = true
	}
	if k := slices.Index(used, false); k >= 0 {
		return BinCounts{}, fmt.Errorf("%w: merged bin %d holds no level", ErrShape, k)
	}
	return m, nil
}

// DefaultWOEAdjustment is the count added to both the events and the
// non-events of a bin that has none of one of them, so that its WOE stays
// finite (FATE's adjustment_factor).
const DefaultWOEAdjustment = 0.5

// ColumnWOE is the weight of evidence of each bin of one column and the
// column's information value.
//
//	WOE_b = ln( (nonEvents_b / NonEvents) / (events_b / Events) )
//	IV    = sum_b (nonEvents_b / NonEvents - events_b / Events) * WOE_b
//
// over the bins of present values and the missing bin, with Events and
// NonEvents the column's totals. A high WOE marks a bin of good credit. A
// bin with no events or no non-events gets the adjustment added to both of
// its counts; an empty bin (no rows) gets WOE 0 and adds nothing to IV.
type ColumnWOE struct {
	WOE        []float64 `json:"woe"`
	MissingWOE float64   `json:"missing_woe"`
	IV         float64   `json:"iv"`
}

// WOE computes the column's WOE and IV (see ColumnWOE) with the given
// adjustment (0: DefaultWOEAdjustment; it must be positive). Counts with no
// events or no non-events at all are an ErrLabels error.
func (c BinCounts) WOE(adjustment float64) (ColumnWOE, error) {
	if err := c.Validate(); err != nil {
		return ColumnWOE{}, err
	}
	if adjustment == 0 {
		adjustment = DefaultWOEAdjustment
	}
	if !(adjustment > 0) || math.IsInf(adjustment, 0) {
		return ColumnWOE{}, fmt.Errorf("%w: WOE adjustment %v, want positive", ErrOptions, adjustment)
	}
	E, NE := c.Totals()
	if !(E > 0) || !(NE > 0) {
		return ColumnWOE{}, fmt.Errorf("%w: %v events and %v non-events, WOE needs both", ErrLabels, E, NE)
	}
	out := ColumnWOE{WOE: make([]float64, c.NumBins())}
	for b := range c.Events {
		w, iv := binWOE(c.Events[b], c.NonEvents[b], E, NE, adjustment)
		out.WOE[b] = w
		out.IV += iv
	}
	w, iv := binWOE(c.MissingEvents, c.MissingNonEvents, E, NE, adjustment)
	out.MissingWOE = w
	out.IV += iv
	return out, nil
}

// binWOE is one bin's WOE and IV term.
func binWOE(e, ne, E, NE, adjustment float64) (woe, iv float64) {
	if e == 0 && ne == 0 {
		return 0, 0
	}
	if e == 0 || ne == 0 {
		e, ne = e+adjustment, ne+adjustment
	}
	pe, pne := e/E, ne/NE
	woe = math.Log(pne / pe)
	return woe, (pne - pe) * woe
}

// Merge criteria of OptimalBins.
const (
	MergeChi2 = "chi2" // merge the adjacent pair whose 2x2 chi-square is smallest
	MergeIV   = "iv"   // merge the adjacent pair whose merging loses the least IV
)

// MergeOptions configures OptimalBins. A zero field takes its default.
type MergeOptions struct {
	// Criterion is MergeChi2 (default) or MergeIV.
	Criterion string `json:"criterion"`
	// MaxBins is the most bins of present values to keep (default 6).
	MaxBins int `json:"max_bins"`
	// MinShare is the least share of the present rows a bin may hold
	// (default 0.05); 0 < MinShare < 1.
	MinShare float64 `json:"min_share"`
	// Adjustment is the WOE adjustment of the IV criterion (default
	// DefaultWOEAdjustment).
	Adjustment float64 `json:"adjustment"`
}

// WithDefaults fills zero fields and validates; errors wrap ErrOptions.
func (o MergeOptions) WithDefaults() (MergeOptions, error) {
	if o.Criterion == "" {
		o.Criterion = MergeChi2
	}
	if o.MaxBins == 0 {
		o.MaxBins = 6
	}
	if o.MinShare == 0 {
		o.MinShare = 0.05
	}
	if o.Adjustment == 0 {
		o.Adjustment = DefaultWOEAdjustment
	}
	switch {
	case o.Criterion != MergeChi2 && o.Criterion != MergeIV:
		return o, fmt.Errorf("%w: merge criterion %q, want %q or %q", ErrOptions, o.Criterion, MergeChi2, MergeIV)
	case o.MaxBins < 1 || o.MaxBins > MaxBins:
		return o, fmt.Errorf("%w: %d merged bins, want 1 to %d", ErrOptions, o.MaxBins, MaxBins)
	case !(o.MinShare > 0 && o.MinShare < 1):
		return o, fmt.Errorf("%w: minimum bin share %v, want in (0, 1)", ErrOptions, o.MinShare)
	case !(o.Adjustment > 0) || math.IsInf(o.Adjustment, 0):
		return o, fmt.Errorf("%w: WOE adjustment %v, want positive", ErrOptions, o.Adjustment)
	}
	return o, nil
}

// OptimalBins merges adjacent bins of c (the fine bins of a quantile
// binning) into at most MaxBins bins whose event rate, and so WOE, is
// monotone in the bin order, and returns the merged bins' ends (see
// BinCounts.Merge). It works on counts alone, so the bank can run it on the
// counts it learns of the center's bins. Deterministically, in order:
//
//  1. empty bins join their left neighbour (the first bin its right one);
//  2. while a bin holds less than MinShare of the present rows, the
//     smallest (the first of equals) joins the neighbour the criterion
//     prefers;
//  3. the trend is the sign of the count-weighted covariance of bin index
//     and event rate (rising when zero); while two adjacent bins break it,
//     the breaking pair the criterion prefers merges;
//  4. while more than MaxBins bins remain, the adjacent pair the criterion
//     prefers merges.
//
// The criterion prefers the pair of smallest chi-square (MergeChi2: the two
// bins' event rates differ the least) or the pair whose merging loses the
// least IV (MergeIV); ties go to the leftmost pair. Merging two adjacent bins
// of a monotone sequence keeps it monotone, so step 4 keeps step 3's work.
func OptimalBins(c BinCounts, opt MergeOptions) ([]int, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	E, NE := c.Totals()
	if !(E > 0) || !(NE > 0) {
		return nil, fmt.Errorf("%w: %v events and %v non-events, WOE needs both", ErrLabels, E, NE)
	}
	gs := make([]group, c.NumBins())
	present := 0.0
	for b := range gs {
		gs[b] = group{end: b, e: c.Events[b], ne: c.NonEvents[b]}
		present += gs[b].n()
	}
	m := merger{gs: gs, o: o, E: E, NE: NE}
	// 1. Empty bins.
	for k := 0; k < len(m.gs) && len(m.gs) > 1; {
		if m.gs[k].n() > 0 {
			k++
			continue
		}
		if k == 0 {
			m.join(0)
		} else {
			m.join(k - 1)
		}
	}
	// 2. Small bins.
	for len(m.gs) > 1 {
		small := -1
		for k, g := range m.gs {
			if g.n() < o.MinShare*present && (small < 0 || g.n() < m.gs[small].n()) {
				small = k
			}
		}
		if small < 0 {
			break
		}
		switch {
		case small == 0:
			m.join(0)
		case small == len(m.gs)-1:
			m.join(small - 1)
		case m.cost(small) < m.cost(small-1):
			m.join(small)
		default:
			m.join(small - 1)
		}
	}
	// 3. Monotone event rate.
	rising := m.trend() >= 0
	for {
		best := -1
		for k := 0; k+1 < len(m.gs); k++ {
			r0, r1 := m.gs[k].rate(), m.gs[k+1].rate()
			if (rising && r1 < r0) || (!rising && r1 > r0) {
				if best < 0 || m.cost(k) < m.cost(best) {
					best = k
				}
			}
		}
		if best < 0 {
			break
		}
		m.join(best)
	}
	// 4. At most MaxBins.
	for len(m.gs) > o.MaxBins {
		best := 0
		for k := 1; k+1 < len(m.gs); k++ {
			if m.cost(k) < m.cost(best) {
				best = k
			}
		}
		m.join(best)
	}
	ends := make([]int, len(m.gs))
	for k, g := range m.gs {
		ends[k] = g.end
	}
	ends[len(ends)-1] = c.NumBins() - 1
	return ends, nil
}

// group is a run of merged bins ending at bin end.
type group struct {
	end   int
	e, ne float64
}

func (g group) n() float64 { return g.e + g.ne }

func (g group) rate() float64 {
	if g.n() == 0 {
		return 0
	}
	return g.e / g.n()
}

type merger struct {
	gs    []group
	o     MergeOptions
	E, NE float64
}

// join merges groups k and k+1.
func (m *merger) join(k int) {
	a, b := m.gs[k], m.gs[k+1]
	m.gs[k] = group{end: b.end, e: a.e + b.e, ne: a.ne + b.ne}
	m.gs = slices.Delete(m.gs, k+1, k+2)
}

// cost is the criterion of merging groups k and k+1: lower merges first.
func (m *merger) cost(k int) float64 {
	a, b := m.gs[k], m.gs[k+1]
	if m.o.Criterion == MergeIV {
		_, ia := binWOE(a.e, a.ne, m.E, m.NE, m.o.Adjustment)
		_, ib := binWOE(b.e, b.ne, m.E, m.NE, m.o.Adjustment)
		_, iab := binWOE(a.e+b.e, a.ne+b.ne, m.E, m.NE, m.o.Adjustment)
		return ia + ib - iab
	}
	return chi2(a.e, a.ne, b.e, b.ne)
}

// trend is the count-weighted covariance of group index and event rate.
func (m *merger) trend() float64 {
	var n, si, sr float64
	for k, g := range m.gs {
		n += g.n()
		si += g.n() * float64(k)
		sr += g.e
	}
	if n == 0 {
		return 0
	}
	mi, mr := si/n, sr/n
	cov := 0.0
	for k, g := range m.gs {
		cov += g.n() * (float64(k) - mi) * (g.rate() - mr)
	}
	return cov
}

// chi2 is Pearson's chi-square of the 2x2 table [[a, b], [c, d]] (rows the
// two bins, columns events and non-events); 0 when a margin is empty.
func chi2(a, b, c, d float64) float64 {
	n := a + b + c + d
	r0, r1, c0, c1 := a+b, c+d, a+c, b+d
	if r0 == 0 || r1 == 0 || c0 == 0 || c1 == 0 {
		return 0
	}
	s := 0.0
	for _, x := range [][3]float64{{a, r0, c0}, {b, r0, c1}, {c, r1, c0}, {d, r1, c1}} {
		exp := x[1] * x[2] / n
		s += (x[0] - exp) * (x[0] - exp) / exp
	}
	return s
}

// Selection chooses features by information value. A zero field does not
// filter.
type Selection struct {
	// MinIV keeps the features whose IV is at least MinIV.
	MinIV float64 `json:"min_iv"`
	// TopK then keeps the TopK features of highest IV (ties: lower index).
	TopK int `json:"top_k"`
}

// Select returns the indices, ascending, of the features of iv that s keeps.
// Selecting across both parties, iv is [bank's IVs | center's IVs].
func (s Selection) Select(iv []float64) ([]int, error) {
	if !(s.MinIV >= 0) || math.IsInf(s.MinIV, 0) || s.TopK < 0 {
		return nil, fmt.Errorf("%w: selection by IV >= %v and top %d", ErrOptions, s.MinIV, s.TopK)
	}
	var keep []int
	for j, v := range iv {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("%w: iv[%d] is NaN", ErrNotFinite, j)
		}
		if v >= s.MinIV {
			keep = append(keep, j)
		}
	}
	if s.TopK > 0 && len(keep) > s.TopK {
		slices.SortStableFunc(keep, func(a, b int) int { return cmp.Compare(iv[b], iv[a]) })
		keep = keep[:s.TopK]
		slices.Sort(keep)
	}
	return keep, nil
}

// WOEColumn maps one column's raw values to WOE values. A numeric
// column's bin of a present value v is sort.SearchFloat64s(Cuts, v) (as in
// Binning). A categorical column (LevelBins set, Cuts empty) holds levels
// (Categories.Encode) and LevelBins[l] is the bin of level l: levels share a
// bin when optimal binning merged them (OptimalLevelBins). Values holds one
// value per bin; a missing (NaN) value, which is also what a label unseen in
// training encodes to, maps to Missing.
type WOEColumn struct {
	Cuts      []float64 `json:"cuts"`
	LevelBins []int     `json:"level_bins,omitempty"`
	Values    []float64 `json:"values"`
	Missing   float64   `json:"missing"`
}

// NewWOEColumn builds the transform of a column with the given cuts from its
// WOE.
func NewWOEColumn(cuts []float64, w ColumnWOE) (WOEColumn, error) {
	c := WOEColumn{Cuts: slices.Clone(cuts), Values: slices.Clone(w.WOE), Missing: w.MissingWOE}
	return c, c.Validate()
}

// NewCategoricalWOEColumn builds the transform of a categorical column
// whose level l falls in bin levelBins[l] from its bins' WOE.
func NewCategoricalWOEColumn(levelBins []int, w ColumnWOE) (WOEColumn, error) {
	c := WOEColumn{LevelBins: slices.Clone(levelBins), Values: slices.Clone(w.WOE), Missing: w.MissingWOE}
	if c.LevelBins == nil {
		c.LevelBins = []int{}
	}
	return c, c.Validate()
}

// Categorical reports whether c maps the levels of a categorical column.
func (c WOEColumn) Categorical() bool { return c.LevelBins != nil }

// Validate checks that the cuts are finite and strictly ascending, with one
// more value than cuts, or, for a categorical column, that there are no
// cuts, at least one value and every level's bin is one of them; and that
// every value is finite. Errors wrap ErrBadModel.
func (c WOEColumn) Validate() error {
	if c.Categorical() {
		if len(c.Cuts) != 0 {
			return fmt.Errorf("%w: a categorical column with %d cuts", ErrBadModel, len(c.Cuts))
		}
		if len(c.Values) == 0 {
			return fmt.Errorf("%w: a categorical column without values", ErrBadModel)
		}
		if len(c.LevelBins) > MaxBins {
			return fmt.Errorf("%w: %d levels, at most %d", ErrBadModel, len(c.LevelBins), MaxBins)
		}
		for l, b := range c.LevelBins {
			if b < 0 || b >= len(c.Values) {
				return fmt.Errorf("%w: level %d in bin %d of %d", ErrBadModel, l, b, len(c.Values))
			}
		}
	} else {
		if err := (Binning{Cuts: [][]float64{c.Cuts}}).Validate(); err != nil {
			return err
		}
		if len(c.Values) != len(c.Cuts)+1 {
			return fmt.Errorf("%w: %d values for %d cuts", ErrBadModel, len(c.Values), len(c.Cuts))
		}
	}
	for b, v := range c.Values {
		if !finite(v) {
			return fmt.Errorf("%w: values[%d] is %v", ErrBadModel, b, v)
		}
	}
	if !finite(c.Missing) {
		return fmt.Errorf("%w: missing value is %v", ErrBadModel, c.Missing)
	}
	return nil
}

// Bin returns the bin of v, -1 for NaN and, in a categorical column, for
// anything that is not one of its levels.
func (c WOEColumn) Bin(v float64) int {
	if math.IsNaN(v) {
		return -1
	}
	if c.Categorical() {
		if v != math.Trunc(v) || v < 0 || v >= float64(len(c.LevelBins)) {
			return -1
		}
		return c.LevelBins[int(v)]
	}
	return sort.SearchFloat64s(c.Cuts, v)
}

// Value returns the WOE value of v.
func (c WOEColumn) Value(v float64) float64 {
	if b := c.Bin(v); b >= 0 {
		return c.Values[b]
	}
	return c.Missing
}

// checkLevel refuses, in a categorical column, a present value that is not
// one of its levels: a table's own code that did not go through
// Categories.Encode, which Bin would otherwise take for missing.
func (c WOEColumn) checkLevel(v float64) bool {
	return !c.Categorical() || math.IsNaN(v) || c.Bin(v) >= 0
}

// WOETransform replaces chosen raw columns by their WOE values: plain
// columns that the vertical LR trains on like any other.
type WOETransform struct {
	// Columns[k] maps raw column Source[k].
	Source  []int       `json:"source"`
	Columns []WOEColumn `json:"columns"`
	// Categories is the encoding of the party's categorical columns, whose
	// levels the categorical WOE columns read (nil: none); a scorecard built
	// from the transform keeps their labels (NewScorecardHalf).
	Categories *Categories `json:"categories,omitempty"`
}

// Transform returns, for x row-major n x d (NaN for missing; categorical
// columns as levels, Categories.Encode), the n x len(Columns) matrix of WOE
// values of the chosen columns. ±Inf fall in the first and last bins.
func (t WOETransform) Transform(x []float64, d int) ([]float64, error) {
	if d < 1 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values in rows of %d columns", ErrShape, len(x), d)
	}
	if len(t.Source) != len(t.Columns) {
		return nil, fmt.Errorf("%w: %d sources for %d WOE columns", ErrShape, len(t.Source), len(t.Columns))
	}
	for k, s := range t.Source {
		if s < 0 || s >= d {
			return nil, fmt.Errorf("%w: WOE column %d reads column %d of %d", ErrShape, k, s, d)
		}
		if err := t.Columns[k].Validate(); err != nil {
			return nil, err
		}
		if err := t.checkEncoding(k); err != nil {
			return nil, err
		}
	}
	n, m := len(x)/d, len(t.Columns)
	out := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for k, s := range t.Source {
			v := x[i*d+s]
			if !t.Columns[k].checkLevel(v) {
				return nil, fmt.Errorf("%w: WOE column %d, row %d: %v is not one of the %d levels of column %d", ErrCategories, k, i, v, len(t.Columns[k].LevelBins), s)
			}
			out[i*m+k] = t.Columns[k].Value(v)
		}
	}
	return out, nil
}

// checkEncoding checks that WOE column k is categorical exactly when
// Categories says its source column is, with one bin per level of it.
func (t WOETransform) checkEncoding(k int) error {
	s, c := t.Source[k], t.Columns[k]
	if t.Categories == nil {
		return nil
	}
	switch l := levelsOf(t.Categories, s); {
	case l == nil && c.Categorical():
		return fmt.Errorf("%w: WOE column %d maps levels, but column %d is numeric", ErrCategories, k, s)
	case l != nil && !c.Categorical():
		return fmt.Errorf("%w: WOE column %d has cuts, but column %q is categorical", ErrCategories, k, l.Column)
	case l != nil && len(c.LevelBins) != l.NumLevels():
		return fmt.Errorf("%w: WOE column %d maps %d levels, column %q has %d", ErrCategories, k, len(c.LevelBins), l.Column, l.NumLevels())
	}
	return nil
}

// levelsOf returns column j's levels, nil for a numeric column.
func levelsOf(c *Categories, j int) *Levels {
	if c.IsCategorical(j) {
		return c.Columns[j]
	}
	return nil
}
