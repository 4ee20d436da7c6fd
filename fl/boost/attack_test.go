package boost

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
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
	g, h   []float64
}

// trainSeen trains with the given options and the center's floor and
// returns every node whose center histograms the bank held.
func trainSeen(t *testing.T, xb, xc, y []float64, db, dc int, opt Options, floor int) []seenNode {
	t.Helper()
	var mu sync.Mutex
	var seen []seenNode
	histHook = func(rows []int32, pg, ph [][]float64, g, h []float64) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, seenNode{append([]int32(nil), rows...), pg, ph, append([]float64(nil), g...), append([]float64(nil), h...)})
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
		_, err := TrainPassiveWith(ctx, tc, seed, xc, dc, PassiveOptions{MinNodeRows: floor})
		done <- err
	}()
	_, err := TrainActive(ctx, ta, seed, xb, db, y, opt, nil)
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
		opt := Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 6, MinNodeRows: 1, MinChildWeight: 1e-9}}
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
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		seed := []byte("boost-test-joint-seed-0123456789a")
		done := make(chan error, 1)
		go func() {
			_, err := TrainPassive(ctx, tc, seed, xc, dc)
			done <- err
		}()
		_, err := TrainActive(ctx, ta, seed, xb, db, y, opt, nil)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorIs(t, <-done, model.ErrOptions)
	})
}
