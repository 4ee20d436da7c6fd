package boost

import (
	"fmt"
	"slices"

	"github.com/veil-fl/veil/model"
)

// SplitGBDT cuts a plaintext ensemble trained on the joined columns
// [bank | center] (model.JoinColumns, the bank's first bankCols) into the
// two halves a federated training produces: the bank keeps the structure,
// its splits and every leaf weight; the center its splits with thresholds.
// It serves tests, benchmarks and migrations of a centrally trained model
// (the nodes keep their numbering, so both halves score like g).
func SplitGBDT(g *model.GBDT, bankCols int) (*ActiveModel, *PassiveModel, error) {
	if err := g.Validate(); err != nil {
		return nil, nil, err
	}
	d := g.Binning.Dim()
	if bankCols < 0 || bankCols > d {
		return nil, nil, fmt.Errorf("%w: %d bank columns of %d", model.ErrShape, bankCols, d)
	}
	a := &ActiveModel{
		Version:   ModelVersion,
		Options:   Options{GBDTOptions: g.Options},
		BaseScore: g.BaseScore,
		Binning:   model.Binning{Cuts: g.Binning.Cuts[:bankCols], Categorical: marks(g.Binning, 0, bankCols)},
		Trees:     make([]Tree, len(g.Trees)),
	}
	p := &PassiveModel{Version: ModelVersion, Binning: model.Binning{Cuts: g.Binning.Cuts[bankCols:], Categorical: marks(g.Binning, bankCols, d)}}
	a.PassiveCategorical = p.Binning.Categorical
	for f := bankCols; f < d; f++ {
		a.PassiveBins = append(a.PassiveBins, g.Binning.NumBins(f))
	}
	for ti, tr := range g.Trees {
		nodes := make([]Node, len(tr.Nodes))
		for v, nd := range tr.Nodes {
			switch {
			case nd.IsLeaf():
				nodes[v] = Node{Weight: nd.Weight}
			case nd.Feature < bankCols:
				nodes[v] = Node{Party: model.Active, Feature: nd.Feature, Bin: nd.Bin, MissingLeft: nd.MissingLeft,
					LeftBins: nd.LeftBins, Left: nd.Left, Right: nd.Right, Weight: nd.Weight, Gain: nd.Gain}
			default:
				// A categorical split's levels go to both halves: the
				// ensemble was trained in one place.
				f := nd.Feature - bankCols
				nodes[v] = Node{Party: model.Passive, Feature: f, Bin: nd.Bin, MissingLeft: nd.MissingLeft,
					LeftBins: nd.LeftBins, Left: nd.Left, Right: nd.Right, Weight: nd.Weight, Gain: nd.Gain}
				p.Splits = append(p.Splits, PassiveSplit{Tree: ti, Node: v, Feature: f, Bin: nd.Bin,
					Threshold: nd.Threshold, MissingLeft: nd.MissingLeft, LeftBins: nd.LeftBins})
			}
		}
		a.Trees[ti] = Tree{Nodes: nodes}
	}
	if err := a.Validate(); err != nil {
		return nil, nil, err
	}
	return a, p, p.Validate()
}

// marks returns the categorical marks of columns lo..hi-1 of b, nil when
// none is categorical.
func marks(b model.Binning, lo, hi int) []bool {
	if !slices.Contains(b.Categorical, true) {
		return nil
	}
	if m := b.Categorical[lo:hi]; slices.Contains(m, true) {
		return slices.Clone(m)
	}
	return nil
}
