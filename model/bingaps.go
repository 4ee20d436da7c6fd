package model

import "fmt"

// DefaultMinBinRows is the default of GBDTOptions.MinBinRows.
const DefaultMinBinRows = 32

// BinGaps says at which bins of one feature a node's cumulative histogram
// is released in vertical federated boosting, where the party that does not
// own the feature learns the sums (see MergeThinBins).
type BinGaps struct {
	// Keep[k] is true when the cumulative sums at bin k are released; the
	// sums at the other bins equal those at the kept bin before them (0
	// before the first). The last bin is always kept.
	Keep []bool
	// Pooled is true when the node's missing rows are counted in its last
	// bin, so that no sum over them alone is released: the cumulative sums
	// at the last bin are the node's totals.
	Pooled bool
}

// MergeThinBins chooses the bins at which a node's histogram of one feature
// is released so that no released sum, and no difference of released sums
// the receiver can form, covers between 1 and least-1 of the node's rows.
//
// a and b count the rows of a node and of its sibling per bin of the
// feature, with the missing rows last (len(a) = bins + 1); b is nil at the
// root, which has no sibling. Siblings share one BinGaps, since the
// receiver derives one's histogram as the parent's minus the other's;
// parent is the parent's (nil at the root). The rule:
//
//   - the missing rows are pooled into the last bin when the parent's were,
//     or when the node or its sibling has between 1 and least-1 of them;
//   - scanning the bins in order, a bin that the parent kept is kept when
//     the gap since the previous kept bin holds, in the node and in the
//     sibling each, no rows or at least least rows, and not no rows in
//     both;
//   - the last bin is kept; while the gap it closes is thin, it absorbs
//     the gap before it (the previous kept bin is dropped), and if it
//     absorbs them all and the node's present rows are still thin, the
//     missing rows are pooled in.
//
// So the kept bins of a child are a subset of its parent's, and every gap
// of every node, as every sibling's, holds no rows or at least least rows.
// With least = 1 every bin holding rows is kept: the plain histogram.
func MergeThinBins(a, b []int, parent *BinGaps, least int) BinGaps {
	nb := len(a) - 1
	last := nb - 1
	count := func(c []int, k int) int {
		if c == nil {
			return 0
		}
		return c[k]
	}
	thin := func(c int) bool { return c > 0 && c < least }
	ok := func(ca, cb int) bool { return !thin(ca) && !thin(cb) && ca+cb > 0 }
	g := BinGaps{Keep: make([]bool, nb)}
	g.Pooled = parent != nil && parent.Pooled || thin(count(a, nb)) || thin(count(b, nb))
	// kept: the kept bins so far with the rows of the gaps they close.
	type gap struct{ bin, a, b int }
	var kept []gap
	ca, cb := 0, 0
	for k := 0; k < last; k++ {
		ca += count(a, k)
		cb += count(b, k)
		if (parent == nil || parent.Keep[k]) && ok(ca, cb) {
			g.Keep[k] = true
			kept = append(kept, gap{k, ca, cb})
			ca, cb = 0, 0
		}
	}
	ca += count(a, last)
	cb += count(b, last)
	if g.Pooled {
		ca += count(a, nb)
		cb += count(b, nb)
	}
	g.Keep[last] = true
	// A thin last gap absorbs the gaps before it until it is not thin (a
	// gap before it may be empty in the node that makes it thin).
	for (thin(ca) || thin(cb)) && len(kept) > 0 {
		p := kept[len(kept)-1]
		kept = kept[:len(kept)-1]
		g.Keep[p.bin] = false
		ca += p.a
		cb += p.b
	}
	if (thin(ca) || thin(cb)) && !g.Pooled {
		// All the present rows are thin: counted with the missing ones,
		// the last bin's sums are the node's totals.
		g.Pooled = true
	}
	return g
}

// Map returns the bin a row of bin b is counted in: the first kept bin at
// or after b for a present value; for a missing one (MissingBin) the last
// bin when pooled, else MissingBin.
func (g BinGaps) Map(b uint8) uint8 {
	if b == MissingBin {
		if g.Pooled {
			return uint8(len(g.Keep) - 1)
		}
		return MissingBin
	}
	for k := int(b); k < len(g.Keep); k++ {
		if g.Keep[k] {
			return uint8(k)
		}
	}
	return uint8(len(g.Keep) - 1)
}

// Within reports whether g keeps only bins its parent keeps and pools when
// the parent does, as MergeThinBins guarantees.
func (g BinGaps) Within(parent BinGaps) bool {
	if len(g.Keep) != len(parent.Keep) || parent.Pooled && !g.Pooled {
		return false
	}
	for k, keep := range g.Keep {
		if keep && !parent.Keep[k] {
			return false
		}
	}
	return len(g.Keep) > 0 && g.Keep[len(g.Keep)-1]
}

// Flatten applies g to cumulative sums c over a node's bins: the sums at a
// bin g does not keep become those at the kept bin before it (0 before the
// first), and when g pools the missing rows, the last bin's sum becomes
// total, the node's sum over all its rows.
func (g BinGaps) Flatten(c []float64, total float64) error {
	if len(c) != len(g.Keep) {
		return fmt.Errorf("%w: %d cumulative sums for %d bins", ErrShape, len(c), len(g.Keep))
	}
	v := 0.0
	for k := range c {
		if g.Keep[k] {
			v = c[k]
		}
		c[k] = v
	}
	if g.Pooled && len(c) > 0 {
		c[len(c)-1] = total
	}
	return nil
}
