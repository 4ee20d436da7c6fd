package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/veil-fl/veil/internal/modelfile"
)

// GBDTVersion is the version of the GBDT file format that Save writes.
// LoadGBDT reads it and version 1, the format before categorical columns
// (Binning.Categorical, Node.LeftBins), which a version 1 file may not hold:
// the version tells an older build that it cannot read a newer file.
const GBDTVersion = 2

// Node is a node of a Tree. A split node sends a row left when its value v
// of Feature is present and v <= Threshold (equivalently, its bin is <= Bin),
// or when v is missing and MissingLeft; otherwise right. Threshold is
// Binning.Cuts[Feature][Bin], or math.MaxFloat64 when Bin is the feature's
// last bin (every present value left, missing values right).
//
// A split on a categorical feature sends a row left when its level is in
// LeftBins, and a missing value, or a level above the feature's bins, by
// MissingLeft; Bin and Threshold are 0. GoesLeft is the rule on bins.
//
// A leaf has Feature -1 and every other field but Weight and Cover zero.
type Node struct {
	// Feature is the split feature's index, -1 for a leaf.
	Feature     int     `json:"feature"`
	Bin         int     `json:"bin"`
	Threshold   float64 `json:"threshold"`
	MissingLeft bool    `json:"missing_left"`
	// LeftBins are the levels a categorical split sends left, ascending;
	// nil for a numeric split, so that a numeric tree's JSON is unchanged.
	LeftBins []int `json:"left_bins,omitempty"`
	// Left and Right are the children's indices in Tree.Nodes, both greater
	// than the node's own.
	Left  int `json:"left"`
	Right int `json:"right"`
	// Weight is what a leaf adds to the logit, LeafWeight of its rows'
	// sums. A split node keeps the weight it would have had as a leaf.
	Weight float64 `json:"weight"`
	// Gain is a split node's gain after Gamma (BestSplit), 0 for a leaf.
	Gain float64 `json:"gain"`
	// Cover is the hessian sum of the node's training rows.
	Cover float64 `json:"cover"`
}

// IsLeaf reports whether n is a leaf.
func (n *Node) IsLeaf() bool { return n.Feature < 0 }

// GoesLeft reports whether the split n sends a row of bin b left (see
// GoesLeft).
func (n *Node) GoesLeft(b uint8) bool { return GoesLeft(b, n.Bin, n.MissingLeft, n.LeftBins) }

// GoesLeft is the one rule by which every party routes a row at a split
// (the trainers, federated prediction, encrypted scoring), so that they
// cannot disagree: a row of bin b (MissingBin when missing) goes left when
// it is missing and missingLeft, or, present, when leftBins (ascending) is
// empty and b <= bin (a numeric split) or b is in leftBins (a categorical
// one).
func GoesLeft(b uint8, bin int, missingLeft bool, leftBins []int) bool {
	switch {
	case b == MissingBin:
		return missingLeft
	case len(leftBins) > 0:
		_, ok := slices.BinarySearch(leftBins, int(b))
		return ok
	default:
		return int(b) <= bin
	}
}

// Tree is a regression tree; Nodes[0] is the root. TrainGBDTBinned
// documents the order of the other nodes.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// leafBinned returns the leaf of row i of bins; leafRaw that of a row of raw
// values. The tree must be valid.
func (t *Tree) leafBinned(bins [][]uint8, i int) *Node {
	nd := &t.Nodes[0]
	for !nd.IsLeaf() {
		if nd.GoesLeft(bins[nd.Feature][i]) {
			nd = &t.Nodes[nd.Left]
		} else {
			nd = &t.Nodes[nd.Right]
		}
	}
	return nd
}

// leafRaw's b is the binning, for the categorical features' levels; their
// codes must have passed Binning.checkLevels.
func (t *Tree) leafRaw(row []float64, b *Binning) *Node {
	nd := &t.Nodes[0]
	for !nd.IsLeaf() {
		v := row[nd.Feature]
		var left bool
		if len(nd.LeftBins) > 0 {
			left = nd.GoesLeft(levelBin(b.NumBins(nd.Feature), v))
		} else {
			if math.IsInf(v, 1) {
				v = math.MaxFloat64 // in the last bin, like Binning.Bin
			}
			left = (math.IsNaN(v) && nd.MissingLeft) || v <= nd.Threshold
		}
		if left {
			nd = &t.Nodes[nd.Left]
		} else {
			nd = &t.Nodes[nd.Right]
		}
	}
	return nd
}

// addBinned adds the tree's leaf weights to logit, one per row of bins.
func (t *Tree) addBinned(bins [][]uint8, logit []float64) {
	for i := range logit {
		logit[i] += t.leafBinned(bins, i).Weight
	}
}

// GBDT is a gradient-boosted tree model for binary labels: the logit of a row
// is BaseScore plus the weight of the leaf each tree sends it to.
type GBDT struct {
	Version int `json:"version"`
	// Options are the training options, defaults applied.
	Options GBDTOptions `json:"options"`
	// BaseScore is the initial logit, Options.BaseScore.
	BaseScore float64 `json:"base_score"`
	// Binning is the binning of the training features; Bin and Threshold of
	// every split refer to it.
	Binning Binning `json:"binning"`
	Trees   []Tree  `json:"trees"`
	// Features names the columns, len(Binning.Cuts) of them. TrainGBDT
	// names them f0, f1, ... as XGBoost does; callers may rename them.
	Features []string `json:"features"`
}

// Validate checks m the way LoadGBDT checks a file. The errors wrap
// ErrBadModel and name the field at fault.
func (m *GBDT) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadModel}, a...)...)
	}
	if m.Version != GBDTVersion && m.Version != 1 {
		return bad("version %d, this build reads versions 1 and %d", m.Version, GBDTVersion)
	}
	if m.Version == 1 && m.Binning.Categorical != nil {
		return bad("version 1 has no categorical columns, binning.categorical is set")
	}
	o, err := m.Options.WithDefaults()
	if err != nil {
		return bad("options: %v", err)
	}
	if o != m.Options {
		return bad("options %+v lack defaults, want %+v", m.Options, o)
	}
	if m.BaseScore != o.BaseScore {
		return bad("base_score %v, options say %v", m.BaseScore, o.BaseScore)
	}
	if err := m.Binning.Validate(); err != nil {
		return fmt.Errorf("binning: %w", err)
	}
	d := m.Binning.Dim()
	if d == 0 {
		return bad("binning has no columns")
	}
	for j, c := range m.Binning.Cuts {
		if len(c) >= o.Bins {
			return bad("binning.cuts[%d] has %d cuts, options allow %d bins", j, len(c), o.Bins)
		}
	}
	if len(m.Features) != d {
		return bad("%d features for a binning of %d columns", len(m.Features), d)
	}
	seen := make(map[string]bool, d)
	for j, f := range m.Features {
		if f == "" {
			return bad("features[%d] is empty", j)
		}
		if seen[f] {
			return bad("features[%d] %q repeats", j, f)
		}
		seen[f] = true
	}
	if len(m.Trees) != o.Trees {
		return bad("%d trees, options say %d", len(m.Trees), o.Trees)
	}
	for k := range m.Trees {
		if err := m.validateTree(k); err != nil {
			return err
		}
	}
	return nil
}

func (m *GBDT) validateTree(k int) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: trees[%d]."+format, append([]any{ErrBadModel, k}, a...)...)
	}
	nodes := m.Trees[k].Nodes
	err := CheckTree(len(nodes), m.Options.MaxDepth, func(i int) (float64, int, int, bool) {
		nd := &nodes[i]
		return nd.Weight, nd.Left, nd.Right, !nd.IsLeaf()
	})
	if err != nil {
		return bad("%v", err)
	}
	for i := range nodes {
		nd := &nodes[i]
		if !(nd.Cover >= 0) || math.IsInf(nd.Cover, 0) {
			return bad("nodes[%d].cover is %v", i, nd.Cover)
		}
		if nd.IsLeaf() {
			if nd.Feature != -1 || nd.Bin != 0 || nd.Threshold != 0 || nd.MissingLeft || nd.LeftBins != nil || nd.Left != 0 || nd.Right != 0 || nd.Gain != 0 {
				return bad("nodes[%d] is a leaf (feature %d) with split fields set", i, nd.Feature)
			}
			continue
		}
		if nd.Feature >= len(m.Binning.Cuts) {
			return bad("nodes[%d].feature %d, the model has %d", i, nd.Feature, len(m.Binning.Cuts))
		}
		if !(nd.Gain > 0) || math.IsInf(nd.Gain, 0) {
			return bad("nodes[%d].gain is %v, want finite and > 0", i, nd.Gain)
		}
		if m.Binning.IsCategorical(nd.Feature) {
			if nd.Bin != 0 || nd.Threshold != 0 {
				return bad("nodes[%d] splits categorical feature %d with bin %d and threshold %v, want 0 and 0", i, nd.Feature, nd.Bin, nd.Threshold)
			}
			if err := CheckLeftBins(nd.LeftBins, m.Binning.NumBins(nd.Feature)); err != nil {
				return bad("nodes[%d].left_bins: %v", i, err)
			}
			continue
		}
		if nd.LeftBins != nil {
			return bad("nodes[%d].left_bins set on numeric feature %d", i, nd.Feature)
		}
		cuts := m.Binning.Cuts[nd.Feature]
		if nd.Bin < 0 || nd.Bin > len(cuts) {
			return bad("nodes[%d].bin %d, feature %d has %d bins", i, nd.Bin, nd.Feature, len(cuts)+1)
		}
		want := math.MaxFloat64
		if nd.Bin < len(cuts) {
			want = cuts[nd.Bin]
		}
		if nd.Threshold != want {
			return bad("nodes[%d].threshold %v, bin %d of feature %d is %v", i, nd.Threshold, nd.Bin, nd.Feature, want)
		}
	}
	return nil
}

// CheckLeftBins checks a categorical split's left bins, whoever holds it:
// at least one, strictly ascending, each a bin of the feature's nb. The
// caller adds which split and its sentinel.
func CheckLeftBins(left []int, nb int) error {
	if len(left) == 0 {
		return errors.New("no bin goes left")
	}
	for k, b := range left {
		if b < 0 || b >= nb {
			return fmt.Errorf("bin %d, the feature has %d", b, nb)
		}
		if k > 0 && b <= left[k-1] {
			return fmt.Errorf("bins not strictly ascending at %d", k)
		}
	}
	return nil
}

// CheckTree checks the shape every tree of Veil has, whoever holds it (a
// GBDT here, the bank's half of a federated ensemble in fl/boost): n nodes,
// the root first; each split's two children after it and within the tree;
// every other node the child of exactly one split, so the nodes form one
// tree with nothing unreachable; splits no deeper than maxDepth (the root
// at depth 0), which also bounds n; finite weights. node returns node i's
// weight and, for a split (split true), its children. Scoring walks a tree
// from the root by these links, so a tree that passes cannot loop or index
// out of range. The errors name the node as "nodes[i]"; the caller adds
// which tree and its sentinel. What a node splits on is the caller's to
// check: only it knows its features and bins.
func CheckTree(n, maxDepth int, node func(i int) (weight float64, left, right int, split bool)) error {
	if n == 0 {
		return errors.New("nodes is empty")
	}
	if maxDepth >= 0 && maxDepth < 62 && n >= 1<<(maxDepth+1) {
		// Checked first, so that a hostile count costs no allocation.
		return fmt.Errorf("nodes holds %d nodes, more than the %d of a tree of max depth %d", n, 1<<(maxDepth+1)-1, maxDepth)
	}
	depth := make([]int, n)
	parent := make([]bool, n) // has a parent
	for i := range n {
		if i > 0 && !parent[i] {
			return fmt.Errorf("nodes[%d] is not a child of any node", i)
		}
		w, left, right, split := node(i)
		if !finite(w) {
			return fmt.Errorf("nodes[%d].weight is %v", i, w)
		}
		if !split {
			continue
		}
		if depth[i] >= maxDepth {
			return fmt.Errorf("nodes[%d] splits at depth %d, max depth %d", i, depth[i], maxDepth)
		}
		for _, c := range []int{left, right} {
			if c <= i || c >= n {
				return fmt.Errorf("nodes[%d] has child %d, want %d to %d", i, c, i+1, n-1)
			}
			if parent[c] {
				return fmt.Errorf("nodes[%d] has child %d, a child of another node", i, c)
			}
			parent[c] = true
			depth[c] = depth[i] + 1
		}
	}
	return nil
}

// Save validates m and writes it as indented JSON.
func (m *GBDT) Save(w io.Writer) error { return saveJSON(w, "GBDT", m, m.Validate) }

// LoadGBDT reads a GBDT written by Save. It rejects, with errors wrapping
// ErrBadModel, files of another version, unknown fields, trailing data, and
// every inconsistency Validate finds.
func LoadGBDT(r io.Reader) (*GBDT, error) {
	m := new(GBDT)
	b, version, err := peekVersion(r, GBDTVersion, 1)
	if err != nil {
		return nil, err
	}
	if err := loadJSON(bytes.NewReader(b), "GBDT", version, m, m.Validate); err != nil {
		return nil, err
	}
	return m, nil
}

// peekVersion reads a model file whose format has versions current and
// older, and returns its bytes and the version to load it as: older when
// its "version" field says so, else current (so that the loader reports
// any other version, or a file without one). It reads at most one byte
// more than a model file may hold, for the loader to refuse.
func peekVersion(r io.Reader, current, older int) ([]byte, int, error) {
	b, err := io.ReadAll(io.LimitReader(r, modelfile.MaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("model: reading a model file: %w", err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(b, &head) == nil && head.Version == older {
		return b, older, nil
	}
	return b, current, nil
}

// PredictLogit returns the logit of each row of x, row-major n x d with NaN
// for missing, d the model's number of features. It compares raw values with
// the thresholds (+Inf counts as math.MaxFloat64), which sends every row
// where PredictBinnedLogit sends its bins under m.Binning. A categorical
// feature holds level codes (Categories.Encode: NaN for a label unseen in
// training); a code that is not a whole number >= 0 is an error.
func (m *GBDT) PredictLogit(x []float64, d int) ([]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if d != m.Binning.Dim() || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values in %d columns, model of %d features", ErrShape, len(x), d, m.Binning.Dim())
	}
	if err := m.Binning.checkLevels(x, d); err != nil {
		return nil, err
	}
	out := make([]float64, len(x)/d)
	for i := range out {
		row := x[i*d : (i+1)*d]
		z := m.BaseScore
		for k := range m.Trees {
			z += m.Trees[k].leafRaw(row, &m.Binning).Weight
		}
		out[i] = z
	}
	return out, nil
}

// PredictBinnedLogit returns the logit of each row of bins, feature-major
// bins[f][i] as Binning.Bin returns them under m.Binning.
func (m *GBDT) PredictBinnedLogit(bins [][]uint8) ([]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if len(bins) != m.Binning.Dim() {
		return nil, fmt.Errorf("%w: %d binned features, model of %d", ErrShape, len(bins), m.Binning.Dim())
	}
	n := len(bins[0])
	for f, col := range bins {
		if len(col) != n {
			return nil, fmt.Errorf("%w: feature %d has %d rows, feature 0 %d", ErrShape, f, len(col), n)
		}
		nb := m.Binning.NumBins(f)
		for i, b := range col {
			if int(b) >= nb && b != MissingBin {
				return nil, fmt.Errorf("%w: bins[%d][%d] = %d, feature %d has %d bins", ErrShape, f, i, b, f, nb)
			}
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = m.BaseScore
	}
	for k := range m.Trees {
		m.Trees[k].addBinned(bins, out)
	}
	return out, nil
}

// FeatureImportance is one feature's share in a model's splits.
type FeatureImportance struct {
	Feature string
	// Gain is the sum of the gains (Node.Gain) of the splits on the feature.
	Gain float64
	// Splits is the number of splits on the feature.
	Splits int
}

// Importance returns the importance of each feature, in feature order.
// XGBoost's "weight" importance is Splits and its "total_gain" is
// 2*(Gain + Gamma*Splits): its gain has neither the factor 1/2 nor Gamma.
func (m *GBDT) Importance() []FeatureImportance {
	out := make([]FeatureImportance, len(m.Features))
	for j := range out {
		out[j].Feature = m.Features[j]
	}
	for _, t := range m.Trees {
		for _, nd := range t.Nodes {
			if !nd.IsLeaf() && nd.Feature < len(out) {
				out[nd.Feature].Gain += nd.Gain
				out[nd.Feature].Splits++
			}
		}
	}
	return out
}
