package model

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// gapCounts returns the rows of c in each gap g releases, in order, the
// missing rows last (their own gap unless pooled).
func gapCounts(c []int, g BinGaps) []int {
	var out []int
	v := 0
	for k, keep := range g.Keep {
		v += c[k]
		if k == len(g.Keep)-1 && g.Pooled {
			v += c[len(c)-1]
		}
		if keep {
			out = append(out, v)
			v = 0
		}
	}
	if !g.Pooled {
		out = append(out, c[len(c)-1])
	}
	return out
}

// binRowCounts draws rows per bin: mostly empty or thin bins when sparse.
func binRowCounts(r *rand.Rand, bins int, sparse bool) []int {
	c := make([]int, bins+1)
	for k := range c {
		switch {
		case sparse && r.IntN(2) == 0:
		case sparse:
			c[k] = r.IntN(6)
		default:
			c[k] = r.IntN(80)
		}
	}
	return c
}

// Every released gap of a node and of its sibling holds no rows or at
// least the minimum, a child keeps only its parent's bins, and Map sends
// every bin to the kept bin that closes its gap.
func TestMergeThinBinsInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 3000; trial++ {
		bins := 1 + r.IntN(32)
		least := 1 + r.IntN(40)
		parentCounts := binRowCounts(r, bins, trial%2 == 0)
		root := MergeThinBins(parentCounts, nil, nil, least)
		require.True(t, root.Keep[bins-1], "the last bin is kept")
		for i, c := range gapCounts(parentCounts, root) {
			// The root's gaps: thin only if the whole node is thin.
			if total := sum(parentCounts); total >= least {
				require.False(t, c > 0 && c < least, "trial %d: root gap %d holds %d rows (least %d, counts %v, gaps %+v)", trial, i, c, least, parentCounts, root)
			}
		}
		// Split the parent's rows between two children at random.
		a, b := make([]int, bins+1), make([]int, bins+1)
		for k, c := range parentCounts {
			a[k] = r.IntN(c + 1)
			b[k] = c - a[k]
		}
		g := MergeThinBins(a, b, &root, least)
		require.True(t, g.Within(root), "trial %d: %+v not within %+v", trial, g, root)
		ga, gb := gapCounts(a, g), gapCounts(b, g)
		if sum(a) >= least && sum(b) >= least {
			for i := range ga {
				require.False(t, ga[i] > 0 && ga[i] < least || gb[i] > 0 && gb[i] < least,
					"trial %d: gap %d holds %d and %d rows (least %d)\na %v\nb %v\n%+v", trial, i, ga[i], gb[i], least, a, b, g)
			}
		}
		for k := 0; k < bins; k++ {
			m := int(g.Map(uint8(k)))
			require.True(t, g.Keep[m] && m >= k, "bin %d maps to %d", k, m)
			for j := k; j < m; j++ {
				require.False(t, g.Keep[j])
			}
		}
		if g.Pooled {
			require.Equal(t, uint8(bins-1), g.Map(MissingBin))
		} else {
			require.Equal(t, uint8(MissingBin), g.Map(MissingBin))
		}
	}
}

func sum(c []int) int {
	s := 0
	for _, v := range c {
		s += v
	}
	return s
}

// With a minimum of one row every bin that holds rows is kept: the plain
// histogram.
func TestMergeThinBinsOneRow(t *testing.T) {
	g := MergeThinBins([]int{3, 0, 1, 2, 1}, []int{0, 0, 5, 1, 0}, nil, 1)
	require.Equal(t, []bool{true, false, true, true}, g.Keep)
	require.False(t, g.Pooled)
	g = MergeThinBins([]int{3, 0, 1, 2, 1}, []int{0, 0, 5, 1, 0}, nil, 3)
	// Gaps: {0}: 3 and 0 rows; {1, 2}: 1 and 5, thin; {1..3}: 3 and 6.
	// The missing rows (1 and 0) are thin: pooled into the last bin.
	require.Equal(t, []bool{true, false, false, true}, g.Keep)
	require.True(t, g.Pooled)
	c := []float64{1, 1, 2, 4}
	require.NoError(t, g.Flatten(c, 5))
	require.Equal(t, []float64{1, 1, 1, 5}, c)
}

// The vertical reference with MinBinRows 1 is TrainGBDT; with the default
// it differs only where the center's thin bins are merged, and its trees
// still predict well.
func TestTrainVerticalGBDT(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, db, dc = 3000, 2, 3
	xb, xc, y := make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := 0; i < n; i++ {
		z := 0.0
		for j := 0; j < db; j++ {
			xb[i*db+j] = r.NormFloat64()
			z += xb[i*db+j]
		}
		for j := 0; j < dc; j++ {
			v := r.NormFloat64()
			if j == 2 {
				v = float64(r.IntN(40)) // sparse: many thin bins at deep nodes
			}
			xc[i*dc+j] = v
			z += v / 10
		}
		if r.Float64() < Logistic(z-2) {
			y[i] = 1
		}
	}
	opt := GBDTOptions{Trees: 5, MaxDepth: 4, MinNodeRows: 100}
	plain, err := TrainGBDT(JoinColumns(xb, db, xc, dc), y, db+dc, opt)
	require.NoError(t, err)
	one := opt
	one.MinBinRows = 1
	v1, err := TrainVerticalGBDT(xb, db, xc, dc, y, one)
	require.NoError(t, err)
	require.Equal(t, plain.Trees, v1.Trees)

	v, err := TrainVerticalGBDT(xb, db, xc, dc, y, opt)
	require.NoError(t, err)
	require.NotEqual(t, plain.Trees, v.Trees, "the case merges some bins")
	s, err := v.PredictLogit(JoinColumns(xb, db, xc, dc), db+dc)
	require.NoError(t, err)
	auc, err := AUC(s, y)
	require.NoError(t, err)
	require.Greater(t, auc, 0.75)

	_, err = TrainVerticalGBDT(xb, db, xc[:10], dc, y, opt)
	require.ErrorIs(t, err, ErrShape)
}
