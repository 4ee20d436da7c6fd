package boost

import (
	"fmt"

	"github.com/veil-fl/veil/model"
)

// gapTracker is the center's record of the bins it releases at each node
// (model.MergeThinBins): the root's are fixed for the training; a child's
// are merged from its parent's by its own and its sibling's row counts.
type gapTracker struct {
	bins     [][]uint8
	nb       []int
	least    int
	root     []model.BinGaps
	rootBins [][]uint8 // every row's root bin, merged
	// prev are the previous level's nodes' gaps; nodeOf its node of a row.
	prev   [][]model.BinGaps
	nodeOf []int32
}

func newGapTracker(bins [][]uint8, nb []int, least int) *gapTracker {
	n := len(bins[0])
	g := &gapTracker{bins: bins, nb: nb, least: least, nodeOf: make([]int32, n)}
	g.root = make([]model.BinGaps, len(bins))
	g.rootBins = make([][]uint8, len(bins))
	for f, col := range bins {
		g.root[f] = model.MergeThinBins(binCounts(col, nil, nb[f]), nil, nil, least)
		g.rootBins[f] = make([]uint8, n)
		for i, b := range col {
			g.rootBins[f][i] = g.root[f].Map(b)
		}
	}
	return g
}

// level returns the gaps of the level's nodes (nil for nodes computed by
// neither side) and remembers them for the next level.
func (g *gapTracker) level(lvl level, root bool) ([][]model.BinGaps, error) {
	out := make([][]model.BinGaps, len(lvl.Rows))
	if root {
		if len(lvl.Rows) != 1 || len(lvl.Rows[0]) != len(g.nodeOf) {
			return nil, fmt.Errorf("%w: a tree's first level is not the root over every row", ErrProtocol)
		}
		out[0] = g.root
	} else {
		for _, k := range lvl.Compute {
			// checkNodeSizes has made sure of a sibling of MinNodeRows rows.
			a, b := lvl.Rows[k], lvl.Rows[k^1]
			parent := g.nodeOf[a[0]]
			if g.nodeOf[b[0]] != parent || int(parent) >= len(g.prev) || g.prev[parent] == nil {
				return nil, fmt.Errorf("%w: node %d and its sibling are not the children of one node with histograms", ErrProtocol, k)
			}
			gs := make([]model.BinGaps, len(g.bins))
			for f, col := range g.bins {
				gs[f] = model.MergeThinBins(binCounts(col, a, g.nb[f]), binCounts(col, b, g.nb[f]), &g.prev[parent][f], g.least)
			}
			out[k], out[k^1] = gs, gs
		}
	}
	for k, rows := range lvl.Rows {
		for _, i := range rows {
			g.nodeOf[i] = int32(k)
		}
	}
	g.prev = out
	return out, nil
}

// binCounts counts rows (every row when nil) per bin of a column of nb
// bins, the missing ones last.
func binCounts(col []uint8, rows []int32, nb int) []int {
	c := make([]int, nb+1)
	add := func(b uint8) {
		if b == model.MissingBin {
			c[nb]++
		} else {
			c[b]++
		}
	}
	if rows == nil {
		for _, b := range col {
			add(b)
		}
	} else {
		for _, i := range rows {
			add(col[i])
		}
	}
	return c
}

// appendGaps encodes one node's gaps: per feature a byte per bin (1: kept)
// and one for the pooled missing rows.
func appendGaps(b []byte, gs []model.BinGaps) []byte {
	for _, g := range gs {
		for _, keep := range g.Keep {
			b = append(b, bool2byte(keep))
		}
		b = append(b, bool2byte(g.Pooled))
	}
	return b
}

func bool2byte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decodeGaps reads the gaps of nodes nodes of the center's features of nb
// bins, checking that each keeps its last bin.
func decodeGaps(b []byte, nodes int, nb []int) ([][]model.BinGaps, error) {
	per := 0
	for f, k := range nb {
		if k < 1 {
			return nil, fmt.Errorf("%w: center feature %d has %d bins", ErrProtocol, f, k)
		}
		per += k + 1
	}
	if len(b) != nodes*per {
		return nil, fmt.Errorf("%w: %d bytes of merged bins for %d nodes, want %d", ErrProtocol, len(b), nodes, nodes*per)
	}
	out := make([][]model.BinGaps, nodes)
	for k := range out {
		out[k] = make([]model.BinGaps, len(nb))
		for f, m := range nb {
			g := model.BinGaps{Keep: make([]bool, m)}
			for j := 0; j <= m; j++ {
				v := b[0]
				b = b[1:]
				if v > 1 {
					return nil, fmt.Errorf("%w: merged bins of node %d, feature %d: byte %d", ErrProtocol, k, f, v)
				}
				if j < m {
					g.Keep[j] = v == 1
				} else {
					g.Pooled = v == 1
				}
			}
			if !g.Keep[m-1] {
				return nil, fmt.Errorf("%w: merged bins of node %d, feature %d drop the last bin", ErrProtocol, k, f)
			}
			out[k][f] = g
		}
	}
	return out, nil
}
