package boost

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// subsetSum finds the subset of rows whose g and h sum to (G, H), by
// enumeration: what a bank does with the center's cumulative sums of a
// small node. It returns the subset as a bit mask and whether it is the
// only match.
func subsetSum(rows []int32, g, h []float64, G, H, tol float64) (mask uint64, unique bool) {
	found := 0
	for m := uint64(0); m < 1<<len(rows); m++ {
		var sg, sh float64
		for k, i := range rows {
			if m>>k&1 == 1 {
				sg += g[i]
				sh += h[i]
			}
		}
		if math.Abs(sg-G) < tol && math.Abs(sh-H) < tol {
			mask = m
			found++
		}
	}
	return mask, found == 1
}

// distinct reports whether the node's rows have pairwise distinct g.
func distinct(nd seenNode) bool {
	seen := map[float64]bool{}
	for _, i := range nd.rows {
		if seen[nd.g[i]] {
			return false
		}
		seen[nd.g[i]] = true
	}
	return true
}

type seenNode struct {
	rows   []int32
	pg, ph [][]float64
	gaps   []model.BinGaps
	g, h   []float64
}

// trainSeen trains with the given options and the center's floor and
// returns every node whose center histograms the bank held.
func trainSeen(t *testing.T, xb, xc, y []float64, db, dc int, opt Options, floor int) []seenNode {
	t.Helper()
	var mu sync.Mutex
	var seen []seenNode
	histHook = func(rows []int32, pg, ph [][]float64, gaps []model.BinGaps, g, h []float64) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, seenNode{append([]int32(nil), rows...), pg, ph, gaps, append([]float64(nil), g...), append([]float64(nil), h...)})
	}
	defer func() { histHook = nil }()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := []byte("boost-test-joint-seed-0123456789a")
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassiveWith(ctx, tc, seed, Data{X: xc, Cols: dc}, PassiveOptions{MinNodeRows: floor, MinBinRows: floor})
		done <- err
	}()
	_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return seen
}

// TestAttackSmallNodes: the bank knows every row's g and h, and the
// center's cumulative sums over a node's rows for each bin of each center
// feature; for a node of a few rows, enumerating the subsets finds the rows
// of each bin, hence every row's bin of every center feature. With the
// default minimum node size no histogram of such a node is ever computed.
func TestAttackSmallNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack test runs in the full suite")
	}
	const n, db, dc = 400, 2, 2
	xb, xc, y := synthetic(n, db, dc, 31)
	binning, err := model.FitBinning(xc, dc, 32)
	require.NoError(t, err)
	bins, err := binning.Bin(xc, dc)
	require.NoError(t, err)

	t.Run("weak variant: a node of a few rows gives its rows' bins away", func(t *testing.T) {
		opt := Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 6, MinNodeRows: 1, MinBinRows: 1, MinChildWeight: 1e-9}}
		seen := trainSeen(t, xb, xc, y, db, dc, opt, 1)
		attacked := 0
		var sizes []int
		for _, nd := range seen {
			if len(nd.rows) < 4 || len(nd.rows) > 8 || !distinct(nd) {
				continue // in the first tree g takes two values: the sums give counts, not rows
			}
			// Every row's bin: the first cumulative bin whose subset holds it.
			for f := 0; f < dc; f++ {
				got := make([]int, len(nd.rows))
				for k := range got {
					got[k] = -1
				}
				for b := len(nd.pg[f]) - 1; b >= 0; b-- {
					mask, unique := subsetSum(nd.rows, nd.g, nd.h, nd.pg[f][b], nd.ph[f][b], 1e-5)
					require.True(t, unique, "one subset matches")
					for k := range nd.rows {
						if mask>>k&1 == 1 {
							got[k] = b
						}
					}
				}
				for k, i := range nd.rows {
					if bins[f][i] == model.MissingBin {
						continue
					}
					require.Equal(t, int(bins[f][i]), got[k], "row %d, center feature %d", i, f)
				}
			}
			attacked++
			sizes = append(sizes, len(nd.rows))
		}
		require.Positive(t, attacked, "some node of 4 to 8 rows had its histograms released")
		t.Logf("the bank recovered every row's bin of both center features in %d nodes (rows %v)", attacked, sizes)
	})

	t.Run("default: no histogram of a small node", func(t *testing.T) {
		opt := Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 6, MinChildWeight: 1e-9}}
		seen := trainSeen(t, xb, xc, y, db, dc, opt, 0)
		require.NotEmpty(t, seen)
		smallest := n
		for _, nd := range seen {
			smallest = min(smallest, len(nd.rows))
		}
		require.GreaterOrEqual(t, smallest, model.DefaultMinNodeRows)
		t.Logf("%d nodes released, the smallest of %d rows", len(seen), smallest)
	})

	t.Run("the center refuses a smaller minimum than its own", func(t *testing.T) {
		opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MinNodeRows: 8}}
		ta, tc := fl.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
		defer cancel()
		seed := []byte("boost-test-joint-seed-0123456789a")
		done := make(chan error, 1)
		go func() {
			_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
			done <- err
		}()
		_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorIs(t, <-done, model.ErrOptions)
	})
}

// gapSums returns the sums of g and h the bank reads off a node's
// cumulative histogram of one center feature, one per gap between bins
// whose cumulative sums differ, with the bins that close the gaps.
func gapSums(pg, ph []float64) (dg, dh []float64, ends []int) {
	var lg, lh float64
	for k := range pg {
		if pg[k] != lg || ph[k] != lh {
			dg, dh, ends = append(dg, pg[k]-lg), append(dh, ph[k]-lh), append(ends, k)
			lg, lh = pg[k], ph[k]
		}
	}
	return dg, dh, ends
}

// smallSubset finds the subsets of one or two of a node's rows whose g and
// h sum to (G, H): it returns the match when there is exactly one.
func smallSubset(rows []int32, g, h []float64, G, H, tol float64) ([]int32, bool) {
	var found []int32
	matches := 0
	for a := range rows {
		if math.Abs(g[rows[a]]-G) < tol && math.Abs(h[rows[a]]-H) < tol {
			found, matches = []int32{rows[a]}, matches+1
		}
		for b := a + 1; b < len(rows); b++ {
			i, j := rows[a], rows[b]
			if math.Abs(g[i]+g[j]-G) < tol && math.Abs(h[i]+h[j]-H) < tol {
				found, matches = []int32{i, j}, matches+1
			}
		}
	}
	return found, matches == 1
}

// TestAttackThinBins: a node of many rows can still have bins of the
// center's features that hold one or two of them; the difference of two
// cumulative sums is then a sum over those rows, which the bank, knowing
// every row's g and h, finds by enumeration: their bins. With the default
// minimum of rows per released sum (model.MergeThinBins) no released gap
// holds fewer than MinBinRows of a node's rows, and the attack finds
// nothing.
func TestAttackThinBins(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack test runs in the full suite")
	}
	const n, db, dc = 600, 2, 3
	xb, xc, y := synthetic(n, db, dc, 33)
	binning, err := model.FitBinning(xc, dc, 32)
	require.NoError(t, err)
	bins, err := binning.Bin(xc, dc)
	require.NoError(t, err)
	attack := func(seen []seenNode) (recovered, thin int) {
		for _, nd := range seen {
			// Rows of equal g and h (the first trees' leaves) match alike:
			// only a unique match counts.
			for f := 0; f < dc; f++ {
				dg, dh, ends := gapSums(nd.pg[f], nd.ph[f])
				lo := 0
				for j := range dg {
					rowsIn := 0
					last := ends[j] == len(nd.pg[f])-1
					for _, i := range nd.rows {
						b := int(bins[f][i])
						if b >= lo && b <= ends[j] || b == int(model.MissingBin) && last && nd.gaps[f].Pooled {
							rowsIn++
						}
					}
					if rowsIn > 0 && rowsIn < model.DefaultMinBinRows {
						thin++
					}
					if rows, ok := smallSubset(nd.rows, nd.g, nd.h, dg[j], dh[j], 1e-7); ok {
						for _, i := range rows {
							b := int(bins[f][i])
							require.True(t, b >= lo && b <= ends[j] || b == int(model.MissingBin) && last, "row %d: bin %d, the attack says %d..%d", i, b, lo, ends[j])
						}
						recovered++
					}
					lo = ends[j] + 1
				}
			}
		}
		return recovered, thin
	}
	// Enough trees for the rows' g and h to differ (the first trees' leaves
	// give many rows the same).
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 20, MaxDepth: 3}}

	weak := opt
	weak.MinBinRows = 1
	recovered, thin := attack(trainSeen(t, xb, xc, y, db, dc, weak, 1))
	t.Logf("every bin released: %d gaps of 1 to %d rows; the bank found the rows of %d", thin, model.DefaultMinBinRows-1, recovered)
	require.Positive(t, recovered, "the attack works on the weak variant")

	recovered, thin = attack(trainSeen(t, xb, xc, y, db, dc, opt, 0))
	t.Logf("thin bins merged: %d thin gaps, %d found", thin, recovered)
	require.Zero(t, thin)
	require.Zero(t, recovered)
}
