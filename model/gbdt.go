package model

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// GBDTOptions configures TrainGBDT. A zero field takes the default beside
// it; to get a true zero where the default is not zero (Lambda,
// MinChildWeight), pass a tiny positive value such as 1e-12.
type GBDTOptions struct {
	// Trees is the number of boosting rounds, default 30.
	Trees int `json:"trees"`
	// MaxDepth is the depth of the trees (the root has depth 0), default 3,
	// at most 30.
	MaxDepth int `json:"max_depth"`
	// LearningRate (eta) scales every leaf weight, default 0.3.
	LearningRate float64 `json:"learning_rate"`
	// Lambda is the L2 penalty on leaf weights, default 1.
	Lambda float64 `json:"lambda"`
	// Gamma is subtracted from every split's gain, default 0. The gain here
	// carries the factor 1/2 of the XGBoost paper, which XGBoost's code
	// drops, so XGBoost's gamma (min_split_loss) g is Gamma = g/2.
	Gamma float64 `json:"gamma"`
	// MinChildWeight is the least hessian sum each child of a split must
	// have, default 1.
	MinChildWeight float64 `json:"min_child_weight"`
	// Bins is the most bins of present values per feature (FitBinning's
	// maxBins), default 32, at most MaxBins.
	Bins int `json:"bins"`
	// Subsample is the share of rows each tree is grown on, in (0, 1],
	// default 1; see SubsampleRows.
	Subsample float64 `json:"subsample"`
	// Seed fixes the row sample of each tree (SubsampleRows).
	Seed uint64 `json:"seed"`
	// BaseScore is the initial logit of every row, default 0: probability
	// 0.5, XGBoost 1.7's default base_score.
	BaseScore float64 `json:"base_score"`
	// MinNodeRows is the fewest rows a node may hold and still be split,
	// default DefaultMinNodeRows: a node with fewer rows is a leaf, and so
	// are both children of a split that leaves either of them with fewer.
	// In federated training a histogram is computed and released only for a
	// node that may be split, so the per-bin sums of no small set of rows
	// are ever revealed (package boost explains why small sets matter).
	// Set it to 1 to grow trees as XGBoost does.
	MinNodeRows int `json:"min_node_rows"`
	// MinBinRows is the fewest rows of a node that a released histogram
	// sum of the other party's features may cover, default
	// DefaultMinBinRows: in vertical federated training the center merges
	// its thin bins per node (MergeThinBins), so that no per-bin sum over
	// a handful of rows reaches the bank. TrainVerticalGBDT applies the
	// same rule to the passive party's columns; TrainGBDT ignores it. Set
	// it to 1 to release every bin.
	MinBinRows int `json:"min_bin_rows"`
}

// DefaultMinNodeRows is the default of GBDTOptions.MinNodeRows.
const DefaultMinNodeRows = 96

// WithDefaults returns o with its zero fields set to their defaults, or an
// error wrapping ErrOptions when a field is out of range. Two parties that
// must grow the same trees can compare the results.
func (o GBDTOptions) WithDefaults() (GBDTOptions, error) {
	if o.Trees == 0 {
		o.Trees = 30
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = 3
	}
	if o.LearningRate == 0 {
		o.LearningRate = 0.3
	}
	if o.Lambda == 0 {
		o.Lambda = 1
	}
	if o.MinChildWeight == 0 {
		o.MinChildWeight = 1
	}
	if o.Bins == 0 {
		o.Bins = 32
	}
	if o.Subsample == 0 {
		o.Subsample = 1
	}
	if o.MinNodeRows == 0 {
		o.MinNodeRows = DefaultMinNodeRows
	}
	if o.MinBinRows == 0 {
		o.MinBinRows = DefaultMinBinRows
	}
	switch {
	case o.MinNodeRows < 1:
		return o, fmt.Errorf("%w: minimum node rows %d, want at least 1", ErrOptions, o.MinNodeRows)
	case o.MinBinRows < 1:
		return o, fmt.Errorf("%w: minimum bin rows %d, want at least 1", ErrOptions, o.MinBinRows)
	case o.Trees < 1:
		return o, fmt.Errorf("%w: %d trees", ErrOptions, o.Trees)
	case o.MaxDepth < 1 || o.MaxDepth > 30:
		return o, fmt.Errorf("%w: max depth %d, want 1 to 30", ErrOptions, o.MaxDepth)
	case o.Bins < 2 || o.Bins > MaxBins:
		return o, fmt.Errorf("%w: %d bins, want 2 to %d", ErrOptions, o.Bins, MaxBins)
	case !(o.Subsample > 0 && o.Subsample <= 1):
		return o, fmt.Errorf("%w: subsample %v, want (0, 1]", ErrOptions, o.Subsample)
	case !finite(o.BaseScore):
		return o, fmt.Errorf("%w: base score %v", ErrOptions, o.BaseScore)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"learning rate", o.LearningRate},
		{"lambda", o.Lambda},
		{"min child weight", o.MinChildWeight},
	} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return o, fmt.Errorf("%w: %s %v, want finite and > 0", ErrOptions, f.name, f.v)
		}
	}
	if !(o.Gamma >= 0) || math.IsInf(o.Gamma, 0) {
		return o, fmt.Errorf("%w: gamma %v, want finite and >= 0", ErrOptions, o.Gamma)
	}
	return o, nil
}

// LogisticGradients writes the first and second derivatives of the logistic
// loss at each row's logit: with p = Logistic(logit[i]),
//
//	g[i] = p - y[i],  h[i] = max(p(1-p), 1e-16)
//
// (the floor is XGBoost's). All slices have the same length.
func LogisticGradients(logit, y, g, h []float64) {
	for i, z := range logit {
		p := Logistic(z)
		g[i] = p - y[i]
		h[i] = max(p*(1-p), 1e-16)
	}
}

// SubsampleRows returns, ascending, the rows of 0..n-1 that tree (0-based)
// is grown on. With rate 1 that is all rows; otherwise row i is kept when
// the i-th draw of Float64 from math/rand/v2's PCG(seed, tree) is below rate.
// The federated trainer samples here too, so that both sides and the
// plaintext reference grow each tree on the same rows.
func SubsampleRows(n int, rate float64, seed uint64, tree int) []int {
	rows := make([]int, 0, n)
	if rate >= 1 {
		for i := 0; i < n; i++ {
			rows = append(rows, i)
		}
		return rows
	}
	r := rand.New(rand.NewPCG(seed, uint64(tree)))
	for i := 0; i < n; i++ {
		if r.Float64() < rate {
			rows = append(rows, i)
		}
	}
	return rows
}

// LeafWeight returns the weight of a leaf whose rows have gradient sum G
// and hessian sum H: -G/(H+Lambda), scaled by LearningRate. opt takes its
// defaults (WithDefaults); with invalid options the weight is NaN.
func LeafWeight(G, H float64, opt GBDTOptions) float64 {
	o, err := opt.WithDefaults()
	if err != nil {
		return math.NaN()
	}
	return -G / (H + o.Lambda) * o.LearningRate
}

// SplitCandidate is a split of a node: rows whose bin in Feature is <= Bin
// (a numeric feature) or in LeftBins (a categorical one) go left, the
// others right, and rows missing Feature go left iff MissingLeft.
type SplitCandidate struct {
	Feature     int
	Bin         int
	MissingLeft bool
	// LeftBins are, for a split on a categorical feature, the bins sent
	// left, ascending (Bin is then 0); nil for a numeric split.
	LeftBins []int
	// Gain is the split's gain after Gamma (see BestSplit).
	Gain float64
	// GL and HL are the gradient and hessian sums of the left child,
	// missing rows included when MissingLeft.
	GL, HL float64
}

// tieTolerance is the relative margin by which a candidate's gain must beat
// the best so far to replace it: gains closer than that are ties, broken by
// the order below. Candidates that are equal in exact arithmetic (two
// features with the same partition, say) then never get decided by the
// order of floating-point sums, nor, in federated training, by decryption
// noise, so the federated and plaintext trainers choose alike.
const tieTolerance = 1e-9

// missingTol is the share of a node's hessian sum below which a feature is
// taken to have no missing rows in the node: H - hl[f][last] is then
// rounding error, not rows.
const missingTol = 1e-9

// BestSplit finds the best split of a node from its histograms: gl[f][k] and
// hl[f][k] are the gradient and hessian sums of the node's rows whose bin in
// feature f is <= k, cumulative over the bins of present values only; G and
// H are the node's totals, missing rows included. So the missing rows of
// feature f sum to G - gl[f][last] and H - hl[f][last].
//
// Every feature f and bin k is a candidate with the missing rows sent right,
//
//	GL = gl[f][k], HL = hl[f][k]
//
// and, when the node has missing rows in f (H - hl[f][last] > 1e-9*H) and k
// is not the last bin, with them sent left,
//
//	GL = gl[f][k] + G - gl[f][last], HL = hl[f][k] + H - hl[f][last].
//
// With GR = G - GL and HR = H - HL, a candidate is valid when HL and HR are
// both at least MinChildWeight, and its gain is
//
//	1/2 [GL^2/(HL+Lambda) + GR^2/(HR+Lambda) - G^2/(H+Lambda)] - Gamma.
//
// BestSplit returns the valid candidate of highest gain, if that gain is > 0.
// Ties (gains within a relative 1e-9) go to the candidate met first in the
// order: lower feature index,
// then lower bin, then missing right before missing left. Feature indices
// put the active party's features before the passive party's, so a tie
// between the parties goes to the active party.
//
// It returns false when no candidate qualifies, when gl and hl differ in
// shape, or when opt is invalid; opt takes its defaults (WithDefaults).
// Every feature is numeric; SplitSearch.Best also splits categorical ones.
func BestSplit(gl, hl [][]float64, G, H float64, opt GBDTOptions) (SplitCandidate, bool) {
	return SplitSearch{}.Best(gl, hl, G, H, opt)
}

// SplitSearch says how BestSplit reads a node's histograms. Its zero value
// reads every feature as numeric with exact sums.
type SplitSearch struct {
	// Categorical[f] marks feature f categorical (nil: none is).
	Categorical []bool
	// Noise[f] bounds the absolute error of feature f's sums (nil: all are
	// exact), as the center's sums decrypted by the bank in federated
	// training carry: it only widens the ties of a categorical feature's
	// ordering (see Best), so that decryption noise does not decide
	// between bins whose exact sums tie.
	Noise []float64
	// Released[f], when not nil, marks the bins of numeric feature f whose
	// cumulative sums the other party released (MergeThinBins' Keep): only
	// those are split candidates, so no split separates rows the releasing
	// party merged (a merged bin's sums are copies of an earlier kept
	// bin's, and before the first kept bin a missing-left candidate would
	// otherwise cut a merged gap).
	Released [][]bool
}

// Best is BestSplit with categorical features. A categorical feature's
// bins are levels without an order, and a split sends a subset of them
// left. Of the 2^(L-1) subsets it tries L, the partition method of
// XGBoost and LightGBM, which finds the best subset for a convex loss: the
// node's per-bin sums g_k, h_k (differences of the cumulative ones) of the
// bins that hold rows (h_k > Noise[f]) are ordered by ascending
// g_k/(h_k+Lambda), and each prefix of that order is a candidate left set,
// with the missing rows right and, as for a numeric feature, also left
// when the node has missing rows and the prefix is not the whole order.
// Bins without rows in the node go right. When the node shows no missing
// rows (none, or the center pooled them into its last bin, see
// MergeThinBins), the missing rows go where the last bin goes: so they
// follow the sums that counted them, and a value missing at prediction,
// or a label unseen in training, takes that side.
//
// A bin merged into a later one (MergeThinBins) has no sums of its own:
// its rows count at the kept bin, which stands for the whole gap, and a
// left set names kept bins only; the center (and the reference trainer)
// sends a gap's every bin where its kept bin goes.
//
// Ties, so that the federated and plaintext trainers choose alike: bins of
// equal ratio are ordered by lower bin first; with Noise[f] > 0 a bin
// whose ratio is within the noise's reach of an earlier bin's (scanned in
// bin order; the reach of a ratio r at hessian sum h is
// Noise[f] (1+|r|) / (h+Lambda)) takes that bin's ratio. Among candidates
// of equal gain (BestSplit's tolerance) the first in this order wins:
// lower feature index; within a categorical feature, the shorter prefix,
// then missing right before missing left.
func (s SplitSearch) Best(gl, hl [][]float64, G, H float64, opt GBDTOptions) (SplitCandidate, bool) {
	o, err := opt.WithDefaults()
	if err != nil || len(gl) != len(hl) || (s.Categorical != nil && len(s.Categorical) != len(gl)) || (s.Noise != nil && len(s.Noise) != len(gl)) || (s.Released != nil && len(s.Released) != len(gl)) {
		return SplitCandidate{}, false
	}
	for f := range gl {
		if len(gl[f]) != len(hl[f]) {
			return SplitCandidate{}, false
		}
	}
	var sp splitter
	sp.init(G, H, o)
	for f := range gl {
		if s.Categorical != nil && s.Categorical[f] {
			noise := 0.0
			if s.Noise != nil {
				noise = s.Noise[f]
			}
			sp.categorical(f, gl[f], hl[f], noise)
		} else {
			var kept []bool
			if s.Released != nil {
				kept = s.Released[f]
			}
			sp.feature(f, gl[f], hl[f], kept)
		}
	}
	return sp.best, sp.found
}

// splitter scans candidates in tie-break order, keeping the first best.
type splitter struct {
	G, H, lambda, gamma, mcw, parent float64
	best                             SplitCandidate
	found                            bool
	units                            []unit // scratch of categorical
}

// unit is a bin of a categorical feature that holds rows of the node.
type unit struct {
	bin  int
	g, h float64
	// ratio is g/(h+lambda); key the ratio it is ordered by (an earlier
	// unit's when the two are within noise).
	ratio, key float64
}

func (s *splitter) init(G, H float64, o GBDTOptions) {
	*s = splitter{G: G, H: H, lambda: o.Lambda, gamma: o.Gamma, mcw: o.MinChildWeight}
	s.parent = G * G / (H + o.Lambda)
}

// feature scans a numeric feature's candidates: every bin, or those kept
// marks when it is not nil.
func (s *splitter) feature(f int, gl, hl []float64, kept []bool) {
	last := len(gl) - 1
	if last < 0 || kept != nil && len(kept) != len(gl) {
		return
	}
	gm, hm := s.G-gl[last], s.H-hl[last]
	missing := hm > missingTol*s.H
	for k := 0; k <= last; k++ {
		if kept != nil && !kept[k] {
			continue
		}
		s.try(f, k, false, gl[k], hl[k])
		if missing && k < last {
			s.try(f, k, true, gl[k]+gm, hl[k]+hm)
		}
	}
}

// try makes the candidate the best when it beats the best so far, and
// reports whether it did.
func (s *splitter) try(f, k int, missLeft bool, GL, HL float64) bool {
	GR, HR := s.G-GL, s.H-HL
	if !(HL >= s.mcw && HR >= s.mcw) {
		return false
	}
	gain := 0.5*(GL*GL/(HL+s.lambda)+GR*GR/(HR+s.lambda)-s.parent) - s.gamma
	if gain > 0 && (!s.found || gain > s.best.Gain*(1+tieTolerance)) {
		s.best = SplitCandidate{Feature: f, Bin: k, MissingLeft: missLeft, Gain: gain, GL: GL, HL: HL}
		s.found = true
		return true
	}
	return false
}

// categorical tries the candidates of a categorical feature (see
// SplitSearch.Best).
func (s *splitter) categorical(f int, gl, hl []float64, noise float64) {
	last := len(gl) - 1
	if last < 0 {
		return
	}
	units := s.units[:0]
	pg, ph := 0.0, 0.0
	for k := 0; k <= last; k++ {
		g, h := gl[k]-pg, hl[k]-ph
		pg, ph = gl[k], hl[k]
		if !(h > noise) {
			continue
		}
		u := unit{bin: k, g: g, h: h, ratio: g / (h + s.lambda)}
		u.key = u.ratio
		if noise > 0 {
			reach := noise * (1 + math.Abs(u.ratio)) / (h + s.lambda)
			for _, v := range units {
				if math.Abs(u.ratio-v.ratio) <= reach+noise*(1+math.Abs(v.ratio))/(v.h+s.lambda) {
					u.key = v.key
					break
				}
			}
		}
		units = append(units, u)
	}
	s.units = units
	slices.SortFunc(units, func(a, b unit) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.bin, b.bin))
	})
	gm, hm := s.G-gl[last], s.H-hl[last]
	missing := hm > missingTol*s.H
	var GL, HL float64
	lastLeft := false
	for p, u := range units {
		GL += u.g
		HL += u.h
		lastLeft = lastLeft || u.bin == last
		if !missing {
			s.tryLeft(f, units[:p+1], lastLeft, GL, HL)
			continue
		}
		s.tryLeft(f, units[:p+1], false, GL, HL)
		if p < len(units)-1 {
			s.tryLeft(f, units[:p+1], true, GL+gm, HL+hm)
		}
	}
}

// tryLeft tries the categorical candidate that sends the bins of left.
func (s *splitter) tryLeft(f int, left []unit, missLeft bool, GL, HL float64) {
	if !s.try(f, 0, missLeft, GL, HL) {
		return
	}
	bins := make([]int, len(left))
	for i, u := range left {
		bins[i] = u.bin
	}
	slices.Sort(bins)
	s.best.LeftBins = bins
}

// TrainGBDT trains gradient-boosted trees for the logistic loss on x,
// row-major n x d with NaN for missing, and labels y in {0, 1}: it fits a
// Binning with opt.Bins bins (FitBinning) and calls TrainGBDTBinned. In the
// reference for vertical federated boosting, x holds the active party's
// columns first, then the passive party's.
func TrainGBDT(x, y []float64, d int, opt GBDTOptions) (*GBDT, error) {
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	if d <= 0 || len(y) == 0 || len(x) != len(y)*d {
		return nil, fmt.Errorf("%w: %d values for %d labels of %d columns", ErrShape, len(x), len(y), d)
	}
	b, err := FitBinning(x, d, o.Bins)
	if err != nil {
		return nil, err
	}
	bins, err := b.Bin(x, d)
	if err != nil {
		return nil, err
	}
	return trainBinned(bins, b, y, o, d)
}

// TrainVerticalGBDT is the plaintext twin of vertical federated
// SecureBoost: TrainGBDT on the bank's columns xb (n x db) joined with the
// center's xc (n x dc), with the center's histograms merged per node as the
// center releases them (GBDTOptions.MinBinRows, MergeThinBins), so that its
// trees equal the federated ones node for node. Its features are the bank's
// then the center's.
func TrainVerticalGBDT(xb []float64, db int, xc []float64, dc int, y []float64, opt GBDTOptions) (*GBDT, error) {
	return TrainVerticalGBDTCategorical(xb, db, nil, xc, dc, nil, y, opt)
}

// TrainVerticalGBDTCategorical is TrainVerticalGBDT with categorical
// columns: catb and catc mark the bank's and the center's (nil: none),
// which hold level codes (FitBinningCategorical). A split on a center
// column sends every bin of a merged gap where the gap's kept bin goes,
// as the center does.
func TrainVerticalGBDTCategorical(xb []float64, db int, catb []bool, xc []float64, dc int, catc []bool, y []float64, opt GBDTOptions) (*GBDT, error) {
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	n := len(y)
	if db < 1 || dc < 1 || n == 0 || len(xb) != n*db || len(xc) != n*dc {
		return nil, fmt.Errorf("%w: %d and %d values for %d labels of %d and %d columns", ErrShape, len(xb), len(xc), n, db, dc)
	}
	if (catb != nil && len(catb) != db) || (catc != nil && len(catc) != dc) {
		return nil, fmt.Errorf("%w: %d and %d categorical marks for %d and %d columns", ErrShape, len(catb), len(catc), db, dc)
	}
	var cat []bool
	if catb != nil || catc != nil {
		cat = make([]bool, db+dc)
		copy(cat, catb)
		copy(cat[db:], catc)
	}
	x := JoinColumns(xb, db, xc, dc)
	b, err := FitBinningCategorical(x, db+dc, o.Bins, cat)
	if err != nil {
		return nil, err
	}
	bins, err := b.Bin(x, db+dc)
	if err != nil {
		return nil, err
	}
	return trainBinned(bins, b, y, o, db)
}

// TrainGBDTBinned trains gradient-boosted trees for the logistic loss on
// binned features, bins[f][i] the bin of row i in feature f under binning
// (Binning.Bin), with labels y in {0, 1}. It runs exactly the arithmetic of
// vertical federated SecureBoost, so that the two can be compared split by
// split. Starting from logit BaseScore for every row, each tree t:
//
//  1. takes the rows SubsampleRows(n, Subsample, Seed, t) and their
//     LogisticGradients g, h at the current logits;
//  2. grows level by level from the root (depth 0). Nodes are numbered in
//     the order they are made: the root 0, then, level by level and in
//     node order within a level, each split node's left child then its
//     right child. Each node of a level below MaxDepth is split by
//     BestSplit over its histograms and its totals G, H (sums of g and h
//     over its rows in ascending row order); a node without a split is a
//     leaf, and so are a root of fewer than MinNodeRows rows and both
//     children of a split whose smaller child has fewer; a categorical
//     feature of binning (Binning.Categorical) is split by
//     SplitSearch.Best's rule;
//  3. builds the histograms of the root from its rows, and of each split
//     node's smaller child (fewer rows; the left one on a tie) from its rows,
//     the larger child's as its parent's minus the smaller child's;
//  4. gives each leaf the weight LeafWeight(G, H) and adds it to the logit
//     of every row (sampled or not) that the tree sends there.
//
// A histogram holds, per feature and bin of present values, the sums of g
// and h over the node's rows in that bin, added in ascending row order.
func TrainGBDTBinned(bins [][]uint8, binning Binning, y []float64, opt GBDTOptions) (*GBDT, error) {
	return trainBinned(bins, binning, y, opt, len(bins))
}

// trainBinned is TrainGBDTBinned with the features from merged on (the
// passive party's) released as MergeThinBins merges them.
func trainBinned(bins [][]uint8, binning Binning, y []float64, opt GBDTOptions, merged int) (*GBDT, error) {
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := binning.Validate(); err != nil {
		return nil, fmt.Errorf("%w: binning: %v", ErrOptions, err)
	}
	d := len(bins)
	n := len(y)
	if d == 0 || d != binning.Dim() || n == 0 || n > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d binned features for a binning of %d, %d labels", ErrShape, d, binning.Dim(), n)
	}
	for f, col := range bins {
		if len(col) != n {
			return nil, fmt.Errorf("%w: feature %d has %d rows, %d labels", ErrShape, f, len(col), n)
		}
		nb := binning.NumBins(f)
		if nb > o.Bins {
			return nil, fmt.Errorf("%w: binning has %d bins in column %d, options allow %d", ErrOptions, nb, f, o.Bins)
		}
		for i, b := range col {
			if int(b) >= nb && b != MissingBin {
				return nil, fmt.Errorf("%w: bins[%d][%d] = %d, feature %d has %d bins", ErrShape, f, i, b, f, nb)
			}
		}
	}
	for i, v := range y {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("%w: y[%d] = %v, want 0 or 1", ErrLabels, i, v)
		}
	}
	m := &GBDT{
		Version:   GBDTVersion,
		Options:   o,
		BaseScore: o.BaseScore,
		Binning:   cloneBinning(binning),
		Features:  defaultNames(d),
	}
	t := newGrower(bins, binning, o)
	t.merged = merged
	logit := make([]float64, n)
	for i := range logit {
		logit[i] = o.BaseScore
	}
	g := make([]float64, n)
	h := make([]float64, n)
	for k := 0; k < o.Trees; k++ {
		// Row by row, so the halves may run in parallel.
		inHalves(n, 1<<13, func(lo, hi int) { LogisticGradients(logit[lo:hi], y[lo:hi], g[lo:hi], h[lo:hi]) })
		sample := SubsampleRows(n, o.Subsample, o.Seed, k)
		tree := t.grow(g, h, sample)
		if len(sample) == n {
			// Every row sits in a leaf's segment of the row buffer.
			for _, l := range t.leaves {
				w := tree.Nodes[l.id].Weight
				for _, i := range l.rows {
					logit[i] += w
				}
			}
		} else {
			tree.addBinned(bins, logit)
		}
		m.Trees = append(m.Trees, tree)
	}
	return m, nil
}

// inHalves runs fn(0, n), or fn(0, n/2) and fn(n/2, n) in parallel when n
// is at least atLeast and there are two CPUs.
func inHalves(n, atLeast int, fn func(lo, hi int)) {
	if n < atLeast || runtime.GOMAXPROCS(0) < 2 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fn(0, n/2)
	}()
	fn(n/2, n)
	wg.Wait()
}

func cloneBinning(b Binning) Binning {
	c := Binning{Cuts: make([][]float64, len(b.Cuts)), Categorical: slices.Clone(b.Categorical)}
	for j, v := range b.Cuts {
		c.Cuts[j] = append([]float64{}, v...)
	}
	return c
}

// Expand returns the bins a split at a node with these merged bins sends
// left when it names the kept bins kept (ascending): every bin whose rows
// the node counts at one of them (Map), ascending. A categorical split on
// the center's feature names kept bins; the rows, and the values seen at
// prediction, of the bins merged into each go with it.
func (g BinGaps) Expand(kept []int) []int {
	var out []int
	for b := range g.Keep {
		if _, ok := slices.BinarySearch(kept, int(g.Map(uint8(b)))); ok {
			out = append(out, b)
		}
	}
	return out
}

func defaultNames(d int) []string {
	out := make([]string, d)
	for j := range out {
		out[j] = fmt.Sprintf("f%d", j)
	}
	return out
}

// grower grows one tree at a time over fixed binned features.
//
// A histogram holds the (g, h) sums of a node's rows per slot: slot
// off[f]+b for bin b of feature f, and slot total+f, never read, where the
// rows missing f land, which spares the inner loop a branch.
type grower struct {
	d       int
	bins    [][]uint8
	cuts    [][]float64
	cat     []bool // Binning.Categorical
	opt     GBDTOptions
	off     []int    // off[f]: slot of bin 0 of feature f
	total   int      // slots of present values, all features
	slot    []uint32 // row-major n x d: the slot of row i in feature f
	gh      []ghPair // per row
	workers int
	pool    [][]ghPair
	scratch []int32
	leaves  []*growNode // the leaves of the last tree grown
	gl, hl  [][]float64 // per-feature views of cum
	cum     []float64   // cumulative sums: the g half, then the h half
	// merged is the first feature whose histograms are released merged
	// (MergeThinBins): the passive party's; d when none is.
	merged int
}

func newGrower(bins [][]uint8, b Binning, o GBDTOptions) *grower {
	d, n := len(bins), len(bins[0])
	t := &grower{d: d, bins: bins, cuts: b.Cuts, cat: b.Categorical, opt: o, off: make([]int, d+1), gh: make([]ghPair, n), scratch: make([]int32, n)}
	for f := 0; f < d; f++ {
		t.off[f+1] = t.off[f] + b.NumBins(f)
	}
	t.total = t.off[d]
	t.slot = make([]uint32, n*d)
	for f, col := range bins {
		for i, bin := range col {
			s := t.total + f
			if bin != MissingBin {
				s = t.off[f] + int(bin)
			}
			t.slot[i*d+f] = uint32(s)
		}
	}
	t.cum = make([]float64, 2*t.total)
	t.gl = make([][]float64, d)
	t.hl = make([][]float64, d)
	for f := 0; f < d; f++ {
		t.gl[f] = t.cum[t.off[f]:t.off[f+1]:t.off[f+1]]
		t.hl[f] = t.cum[t.total+t.off[f] : t.total+t.off[f+1] : t.total+t.off[f+1]]
	}
	t.workers = min(runtime.GOMAXPROCS(0), d)
	return t
}

// ghPair is a row's gradient and hessian, or their sums over rows.
type ghPair struct{ g, h float64 }

// growNode is a node of the level being grown.
type growNode struct {
	id   int
	rows []int32  // ascending; a segment of the tree's row buffer
	hist []ghPair // see grower; the merged features' bins as released
	G, H float64
	// count and gaps, for the merged features: the rows per bin (missing
	// at total+f, as in hist) and the bins released.
	count []int
	gaps  []BinGaps
}

func (t *grower) grow(g, h []float64, sample []int) Tree {
	for i := range g {
		t.gh[i] = ghPair{g[i], h[i]}
	}
	t.leaves = t.leaves[:0]
	rows := make([]int32, len(sample))
	for k, i := range sample {
		rows[k] = int32(i)
	}
	root := &growNode{id: 0, rows: rows}
	if len(rows) >= t.opt.MinNodeRows {
		root.hist = t.alloc()
		t.build(root.rows, root.hist)
		t.release(root, nil, nil)
	}
	root.G, root.H = t.sums(root.rows)
	tree := Tree{Nodes: []Node{{Feature: -1}}}
	level := []*growNode{root}
	for depth := 0; len(level) > 0; depth++ {
		var next []*growNode
		for _, nd := range level {
			tree.Nodes[nd.id].Cover = nd.H
			tree.Nodes[nd.id].Weight = LeafWeight(nd.G, nd.H, t.opt)
			if depth >= t.opt.MaxDepth || nd.hist == nil {
				if nd.hist != nil {
					t.free(nd.hist)
				}
				t.leaves = append(t.leaves, nd)
				continue
			}
			c, ok := t.best(nd)
			if !ok {
				t.free(nd.hist)
				t.leaves = append(t.leaves, nd)
				continue
			}
			li, ri := len(tree.Nodes), len(tree.Nodes)+1
			split := Node{
				Feature: c.Feature, Bin: c.Bin, Threshold: t.threshold(c.Feature, c.Bin),
				MissingLeft: c.MissingLeft, LeftBins: c.LeftBins, Left: li, Right: ri,
				Weight: tree.Nodes[nd.id].Weight, Gain: c.Gain, Cover: nd.H,
			}
			if c.LeftBins != nil {
				split.Threshold = 0
				if c.Feature >= t.merged {
					// The kept bins chosen stand for their gaps.
					split.LeftBins = nd.gaps[c.Feature-t.merged].Expand(c.LeftBins)
				}
			}
			tree.Nodes[nd.id] = split
			l, r := t.partition(nd.rows, &split)
			tree.Nodes = append(tree.Nodes, Node{Feature: -1}, Node{Feature: -1})
			left := &growNode{id: li, rows: l}
			right := &growNode{id: ri, rows: r}
			small, large := left, right
			if len(r) < len(l) {
				small, large = right, left
			}
			if len(small.rows) >= t.opt.MinNodeRows {
				small.hist = t.alloc()
				t.build(small.rows, small.hist)
				large.hist = nd.hist
				t.release(small, large, nd)
				for j, v := range small.hist {
					large.hist[j].g -= v.g
					large.hist[j].h -= v.h
				}
			} else {
				// Both children are leaves: no histogram of either.
				t.free(nd.hist)
			}
			left.G, left.H = t.sums(l)
			right.G, right.H = t.sums(r)
			next = append(next, left, right)
		}
		level = next
	}
	return tree
}

// release turns the merged features' bins of a freshly built histogram
// into what the passive party releases: for the root (sibling nil) its own
// merge; for the smaller child of a split, the merge it shares with its
// sibling, whose histogram (still its parent's) is coarsened to the same
// bins before the child's is subtracted from it.
func (t *grower) release(nd, sibling, parent *growNode) {
	if t.merged >= t.d {
		return
	}
	nd.count = t.counts(nd.rows)
	var sc []int
	if sibling != nil {
		sibling.count = make([]int, len(parent.count))
		sc = sibling.count
		for j, c := range parent.count {
			sc[j] = c - nd.count[j]
		}
	}
	nd.gaps = make([]BinGaps, t.d-t.merged)
	a, b := make([]int, 0, MaxBins+1), make([]int, 0, MaxBins+1)
	for f := t.merged; f < t.d; f++ {
		lo, hi := t.off[f], t.off[f+1]
		a = append(append(a[:0], nd.count[lo:hi]...), nd.count[t.total+f])
		var pg *BinGaps
		var sib []int
		if parent != nil {
			pg = &parent.gaps[f-t.merged]
			b = append(append(b[:0], sc[lo:hi]...), sc[t.total+f])
			sib = b
		}
		g := MergeThinBins(a, sib, pg, t.opt.MinBinRows)
		nd.gaps[f-t.merged] = g
		t.merge(nd.hist, f, g)
		if sibling != nil {
			t.merge(sibling.hist, f, g)
		}
	}
	if sibling != nil {
		sibling.gaps = nd.gaps
	}
}

// merge moves the sums of feature f's bins in hist to the bins g keeps
// (each to the first kept bin at or after it), and the missing rows' to
// the last bin when g pools them.
func (t *grower) merge(hist []ghPair, f int, g BinGaps) {
	hf := hist[t.off[f]:t.off[f+1]]
	var v ghPair
	for k := range hf {
		v.g += hf[k].g
		v.h += hf[k].h
		if g.Keep[k] {
			hf[k], v = v, ghPair{}
		} else {
			hf[k] = ghPair{}
		}
	}
	if m := &hist[t.total+f]; g.Pooled {
		hf[len(hf)-1].g += m.g
		hf[len(hf)-1].h += m.h
		*m = ghPair{}
	}
}

// counts returns the rows per bin of the merged features (missing at
// total+f).
func (t *grower) counts(rows []int32) []int {
	c := make([]int, t.total+t.d)
	for f := t.merged; f < t.d; f++ {
		col := t.bins[f]
		for _, i := range rows {
			if b := col[i]; b == MissingBin {
				c[t.total+f]++
			} else {
				c[t.off[f]+int(b)]++
			}
		}
	}
	return c
}

// threshold is the raw-value threshold of "bin <= k goes left" in feature f.
func (t *grower) threshold(f, k int) float64 {
	if k == len(t.cuts[f]) {
		return math.MaxFloat64
	}
	return t.cuts[f][k]
}

func (t *grower) alloc() []ghPair {
	if k := len(t.pool); k > 0 {
		b := t.pool[k-1]
		t.pool = t.pool[:k-1]
		return b
	}
	return make([]ghPair, t.total+t.d)
}

func (t *grower) free(b []ghPair) { t.pool = append(t.pool, b) }

func (t *grower) sums(rows []int32) (G, H float64) {
	for _, i := range rows {
		G += t.gh[i].g
		H += t.gh[i].h
	}
	return G, H
}

// build writes the histogram of rows into dst.
func (t *grower) build(rows []int32, dst []ghPair) {
	clear(dst)
	d := t.d
	part := func(lo, hi int) {
		gh, slot := t.gh, t.slot
		for _, i := range rows {
			p := gh[i]
			for _, s := range slot[int(i)*d+lo : int(i)*d+hi] {
				q := &dst[s]
				q.g += p.g
				q.h += p.h
			}
		}
	}
	// Features are independent, so splitting them among goroutines changes
	// no sum.
	if t.workers < 2 || len(rows)*d < 1<<15 {
		part(0, d)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < t.workers; w++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			part(lo, hi)
		}(w*d/t.workers, (w+1)*d/t.workers)
	}
	wg.Wait()
}

// best runs BestSplit on a node's histogram.
func (t *grower) best(nd *growNode) (SplitCandidate, bool) {
	for f := 0; f < t.d; f++ {
		hf := nd.hist[t.off[f]:t.off[f+1]]
		gl, hl := t.gl[f], t.hl[f]
		var sg, sh float64
		for k := range gl {
			sg += hf[k].g
			sh += hf[k].h
			gl[k], hl[k] = sg, sh
		}
	}
	var s splitter
	s.init(nd.G, nd.H, t.opt)
	for f := 0; f < t.d; f++ {
		if t.cat != nil && t.cat[f] {
			s.categorical(f, t.gl[f], t.hl[f], 0)
		} else {
			var kept []bool
			if f >= t.merged && nd.gaps != nil {
				kept = nd.gaps[f-t.merged].Keep
			}
			s.feature(f, t.gl[f], t.hl[f], kept)
		}
	}
	return s.best, s.found
}

// partition splits rows in place by the split nd, keeping their order in
// each part.
func (t *grower) partition(rows []int32, nd *Node) (l, r []int32) {
	var left [256]int // 1 for the bins that go left
	for b := range left {
		if nd.GoesLeft(uint8(b)) {
			left[b] = 1
		}
	}
	// Branch-free: each row is written to both sides, and the side it
	// belongs to advances. Writing rows[nl] while reading rows[j] is safe
	// since nl <= j.
	col, right := t.bins[nd.Feature], t.scratch
	nl, nr := 0, 0
	for _, i := range rows {
		l := left[col[i]]
		rows[nl] = i
		right[nr] = i
		nl += l
		nr += 1 - l
	}
	copy(rows[nl:], right[:nr])
	return rows[:nl:nl], rows[nl:]
}
