package score

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// Encrypted tree scoring. For a record x and a tree, let C_v(x) be 1 when x
// satisfies every center split on the path to node v, and B_v(x) the same for
// the bank's splits. x reaches leaf L when B_L(x) C_L(x) = 1, so the tree's
// score is sum_L w_L B_L(x) C_L(x). The center knows every C, the bank every
// B and w. With e_k = C_k d_k for center split k (d_k: x goes left at k), every
// C_v is affine in the e's: C_root = 1, the left child of center split k has
// e_k, its right child C_k - e_k, and a bank split's children inherit its C.
// So the score is const(x) + sum_k coef_k(x) e_k(x), where const and coef are
// the bank's plaintext and the e's the center's: one encrypted value per
// record and center split, two per slot (he.CombinePairs), and no ciphertext
// product. The center needs, for each of its splits, the nearest center
// split above it and on which side (splitLink), which the bank sends.

// splitLink places a center split in its tree.
type splitLink struct {
	Tree int `json:"tree"`
	Node int `json:"node"`
	// Parent is the index (in the list) of the nearest center split above
	// this one in the same tree, -1 if none; Left says whether this split
	// lies under the parent's left child.
	Parent int  `json:"parent"`
	Left   bool `json:"left"`
}

// form is C_v as an affine function of the e's: kappa + sum coef[i] e_{split[i]}.
type form struct {
	kappa float64
	split []int
	coef  []float64
}

// treePlan is the bank's view of an ensemble for encrypted scoring.
type treePlan struct {
	m     *boost.ActiveModel
	links []splitLink
	// index[t][v] is the center split number of node v of tree t (-1 for
	// the bank's nodes and leaves); forms[t][v] is C_v.
	index [][]int
	forms [][]form
}

func newTreePlan(m *boost.ActiveModel) *treePlan {
	pl := &treePlan{m: m, index: make([][]int, len(m.Trees)), forms: make([][]form, len(m.Trees))}
	for ti, tr := range m.Trees {
		idx := make([]int, len(tr.Nodes))
		for v, nd := range tr.Nodes {
			idx[v] = -1
			if nd.Party == model.Passive {
				idx[v] = len(pl.links)
				pl.links = append(pl.links, splitLink{Tree: ti, Node: v, Parent: -1})
			}
		}
		pl.index[ti] = idx
	}
	// Children have higher node numbers than their parents (Validate), so
	// one pass in node order sees every parent first.
	for ti, tr := range m.Trees {
		forms := make([]form, len(tr.Nodes))
		above := make([]int, len(tr.Nodes)) // nearest center split above v
		leftOf := make([]bool, len(tr.Nodes))
		forms[0] = form{kappa: 1}
		above[0] = -1
		for v, nd := range tr.Nodes {
			if k := pl.index[ti][v]; k >= 0 {
				pl.links[k].Parent, pl.links[k].Left = above[v], leftOf[v]
			}
			if nd.Party == "" {
				continue
			}
			l, r := nd.Left, nd.Right
			if k := pl.index[ti][v]; k >= 0 {
				forms[l] = form{split: []int{k}, coef: []float64{1}}
				f := forms[v]
				forms[r] = form{kappa: f.kappa, split: append(append([]int(nil), f.split...), k), coef: append(append([]float64(nil), f.coef...), -1)}
				above[l], above[r], leftOf[l], leftOf[r] = k, k, true, false
			} else {
				forms[l], forms[r] = forms[v], forms[v]
				above[l], above[r], leftOf[l], leftOf[r] = above[v], above[v], leftOf[v], leftOf[v]
			}
		}
		pl.forms[ti] = forms
	}
	return pl
}

// coefficients fills, for records lo..hi of the bank's bins, the constant
// (base score included) and the weight of each center split's e.
func (pl *treePlan) coefficients(bins [][]uint8, lo, hi int, constant []float64, coef [][]float64) {
	stack := make([]int, 0, 64)
	for i := lo; i < hi; i++ {
		r := i - lo
		constant[r] = pl.m.BaseScore
		for ti, tr := range pl.m.Trees {
			stack = append(stack[:0], 0)
			for len(stack) > 0 {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				nd := tr.Nodes[v]
				switch nd.Party {
				case "":
					f := pl.forms[ti][v]
					constant[r] += nd.Weight * f.kappa
					for j, k := range f.split {
						coef[k][r] += nd.Weight * f.coef[j]
					}
				case model.Active:
					if model.GoesLeft(bins[nd.Feature][i], nd.Bin, nd.MissingLeft, nd.LeftBins) {
						stack = append(stack, nd.Left)
					} else {
						stack = append(stack, nd.Right)
					}
				default: // the center's split: both ways, C tells
					stack = append(stack, nd.Left, nd.Right)
				}
			}
		}
	}
}

// TreesPassive is the center's side of encrypted scoring of a SecureBoost
// ensemble: x holds its raw features, row-major with d columns, one row per
// record in the aligned order, its categorical columns as level codes
// (boost.PassiveModel.Encode: a label unseen in training is missing, and
// goes by the split's missing direction). Per batch it encrypts, for each
// of its splits, whether the record satisfies its own splits down to and
// including that one going left (e_k above); it learns nothing about the records'
// scores, nor the bank's splits or leaf weights. From the bank it learns how
// its own splits nest in each tree (which it sees in training already).
func TreesPassive(ctx context.Context, t fl.Transport, p *he.Party, m *boost.PassiveModel, x []float64, d int, opt Options) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	o, err := opt.normalizeFor(DefaultTreesBatchRows, len(m.Splits))
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	if err := m.Validate(); err != nil {
		return fl.Fail(ctx, t, withheld(err, "the center's"))
	}
	if d != m.Binning.Dim() || len(x)%max(d, 1) != 0 {
		return fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns, the model has %d", model.ErrShape, len(x), d, m.Binning.Dim()))
	}
	bins, err := m.Binning.Bin(x, d)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	rows := len(x) / max(d, 1)
	defer o.logRun(kindTrees, rows)(&err)
	s, err := recvSetup(ctx, t, kindTrees, rows, o, m.Training)
	if err != nil {
		return err
	}
	if err := checkLinks(s.Splits, m.Splits); err != nil {
		return fl.Fail(ctx, t, err)
	}
	links := s.Splits
	if o.Output == Bands {
		return treesBandsCenter(ctx, t, m, links, bins, rows, o)
	}
	level := o.encLevel(1)
	return centerLoop(ctx, t, p, o, rows, func(lo, hi int) ([]byte, error) {
		e := pathIndicators(m, links, bins, lo, hi, len(links)+len(links)%2) // an even count: pairs
		// All pairs in one vector, each padded to whole ciphertexts, so one
		// call encrypts them on every core and one buffer carries them.
		per := p.Params().Slots()
		cts := (hi - lo + per - 1) / per
		re, im := make([]float64, len(e)/2*cts*per), make([]float64, len(e)/2*cts*per)
		for j := range len(e) / 2 {
			copy(re[j*cts*per:], e[2*j])
			copy(im[j*cts*per:], e[2*j+1])
		}
		v, err := p.EncryptComplexAt(re, im, level)
		if err != nil {
			return nil, err
		}
		return p.Params().MarshalVector(v)
	})
}

// pathIndicators returns e[k][r] for the center's splits k and records
// lo..hi (r = record - lo): 1 when the record satisfies the center's splits
// down to and including k going left. count >= len(links) rows (extra rows
// stay zero).
func pathIndicators(m *boost.PassiveModel, links []splitLink, bins [][]uint8, lo, hi, count int) [][]float64 {
	e := make([][]float64, count)
	for k := range e {
		e[k] = make([]float64, hi-lo)
	}
	cs := make([]float64, len(links)) // C_k of the record
	for i := lo; i < hi; i++ {
		r := i - lo
		for k, l := range links {
			c := 1.0
			if l.Parent >= 0 && l.Left {
				c = e[l.Parent][r]
			} else if l.Parent >= 0 {
				c = cs[l.Parent] - e[l.Parent][r]
			}
			cs[k] = c
			sp := m.Splits[k]
			if model.GoesLeft(bins[sp.Feature][i], sp.Bin, sp.MissingLeft, sp.LeftBins) {
				e[k][r] = c
			}
		}
	}
	return e
}

// checkLinks checks the bank's placement of the center's splits against the
// center's own model: same splits, parents above in the same tree.
func checkLinks(links []splitLink, splits []boost.PassiveSplit) error {
	if len(links) != len(splits) {
		return fmt.Errorf("%w: the bank's model has %d center splits, the center's %d", ErrMismatch, len(links), len(splits))
	}
	for k, l := range links {
		if l.Tree != splits[k].Tree || l.Node != splits[k].Node {
			return fmt.Errorf("%w: center split %d is (tree %d, node %d) for the bank, (tree %d, node %d) for the center",
				ErrMismatch, k, l.Tree, l.Node, splits[k].Tree, splits[k].Node)
		}
		if l.Parent < -1 || l.Parent >= k || (l.Parent >= 0 && links[l.Parent].Tree != l.Tree) {
			return fmt.Errorf("%w: center split %d has parent %d", ErrProtocol, k, l.Parent)
		}
	}
	return nil
}

// TreesActive is the bank's side: x holds its raw features (row-major, d
// columns; level codes in its categorical columns, boost.ActiveModel.Encode).
// It combines its own splits and leaf weights with the center's encrypted
// path indicators and learns, per record, the logit (Scores) or
// only the band (Bands); never the center's split decisions.
func TreesActive(ctx context.Context, t fl.Transport, p *he.Party, m *boost.ActiveModel, x []float64, d int, opt Options) (_ *Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	o, err := opt.normalizeFor(DefaultTreesBatchRows, m.CountSplits(model.Passive))
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fl.Fail(ctx, t, withheld(err, "the bank's"))
	}
	if d != m.Binning.Dim() || len(x)%max(d, 1) != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns, the model has %d", model.ErrShape, len(x), d, m.Binning.Dim()))
	}
	bins, err := m.Binning.Bin(x, d)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	rows := len(x) / max(d, 1)
	defer o.logRun(kindTrees, rows)(&err)
	pl := newTreePlan(m)
	s := setup{Kind: kindTrees, Rows: rows, Output: o.Output, Cuts: o.Cuts.v, BatchRows: o.BatchRows, Splits: pl.links, Training: m.Training, Disclose: setupDisclose(o.Disclose)}
	if err := fl.SendJSON(ctx, t, TypeSetup, s); err != nil {
		return nil, err
	}
	if o.Output == Bands {
		return treesBandsBank(ctx, t, pl, bins, rows, o)
	}
	pairs, level := (len(pl.links)+1)/2, o.encLevel(1)
	return bankLoop(ctx, t, p, o, rows, func(lo, hi int, enc []byte) (*he.Vector, error) {
		n := hi - lo
		constant := make([]float64, n)
		coef := make([][]float64, 2*pairs)
		for k := range coef {
			coef[k] = make([]float64, n)
		}
		pl.coefficients(bins, lo, hi, constant, coef)
		if pairs == 0 { // no center split: the bank's own plaintext score
			return p.EncryptAt(constant, level-1)
		}
		all, err := p.Params().UnmarshalVector(enc)
		per := p.Params().Slots()
		cts := (n + per - 1) / per
		if err == nil && (all.Layout != he.SlotComplex || all.Len != pairs*cts*per || all.Level() != level) {
			err = fmt.Errorf("%w: the path indicators of %d center splits for a batch of %d records arrive as a %s vector of %d at level %d, want %d at level %d",
				ErrProtocol, len(pl.links), n, all.Layout, all.Len, all.Level(), pairs*cts*per, level)
		}
		if err != nil {
			return nil, fmt.Errorf("score: the center's path indicators: %w", err)
		}
		xs := make([]*he.Vector, pairs)
		for j := range xs {
			xs[j] = &he.Vector{Layout: he.SlotComplex, Len: n, Cts: all.Cts[j*cts : (j+1)*cts]}
		}
		re, im := make([][]float64, pairs), make([][]float64, pairs)
		for j := range xs {
			re[j], im[j] = coef[2*j], coef[2*j+1]
		}
		return p.CombinePairs(xs, re, im, constant)
	})
}
