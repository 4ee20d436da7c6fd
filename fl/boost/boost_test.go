package boost

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// synthetic returns both parties' raw columns (some missing) and labels with
// a non-linear dependence on both.
func synthetic(n, db, dc int, seed uint64) (xb, xc, y []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	xb, xc, y = make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < db; j++ {
			xb[i*db+j] = math.Round(r.NormFloat64()*100) / 10
		}
		for j := 0; j < dc; j++ {
			xc[i*dc+j] = r.ExpFloat64()
			if r.Float64() < 0.05 {
				xc[i*dc+j] = math.NaN()
			}
		}
		z := -1.0
		if xb[i*db] > 0.5 && !(xc[i*dc] < 1) {
			z += 2
		}
		z += 0.5 * xb[i*db+1%db]
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return xb, xc, y
}

func trainPair(t *testing.T, xb, xc, y []float64, db, dc int, opt Options) (*ActiveResult, *PassiveResult) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := []byte("boost-test-joint-seed-0123456789a")
	var pr *PassiveResult
	done := make(chan error, 1)
	go func() {
		var err error
		pr, err = TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
		done <- err
	}()
	ar, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return ar, pr
}

// compareTrees walks the federated and reference trees together from the
// root and counts the nodes that are identical (same split feature, bin,
// levels sent left and missing direction, or both leaves, with the same
// weight); below a split that differs, every node of the federated subtree
// counts as different. A center split's levels are the center's.
func compareTrees(t *testing.T, ar *ActiveResult, pr *PassiveResult, ref *model.GBDT, db int) (same, total int) {
	t.Helper()
	passive := map[[2]int]PassiveSplit{}
	for _, s := range pr.Splits {
		passive[[2]int{s.Tree, s.Node}] = s
	}
	require.Len(t, ar.Trees, len(ref.Trees))
	for ti, tr := range ar.Trees {
		total += len(tr.Nodes)
		rt := ref.Trees[ti]
		var walk func(i, j int)
		walk = func(i, j int) {
			nd, rn := tr.Nodes[i], rt.Nodes[j]
			f := -1
			left := nd.LeftBins
			switch nd.Party {
			case model.Active:
				f = nd.Feature
			case model.Passive:
				ps, ok := passive[[2]int{ti, i}]
				require.True(t, ok, "tree %d node %d: the center holds no split", ti, i)
				require.Equal(t, nd.Feature, ps.Feature)
				f, left = db+nd.Feature, ps.LeftBins
			}
			if f != rn.Feature || (f >= 0 && (nd.Bin != rn.Bin || nd.MissingLeft != rn.MissingLeft || !slices.Equal(left, rn.LeftBins))) {
				return
			}
			if math.Abs(rn.Weight-nd.Weight) > 1e-4 {
				return
			}
			same++
			if f >= 0 {
				walk(nd.Left, rn.Left)
				walk(nd.Right, rn.Right)
			}
		}
		walk(0, 0)
	}
	return same, total
}

// TestMatchesReference: federated trees equal the plaintext reference's,
// node for node.
func TestMatchesReference(t *testing.T) {
	const db, dc = 3, 4
	n, trees := 4000, 5
	if testing.Short() { // the race detector's pass
		n, trees = 1500, 2
	}
	xb, xc, y := synthetic(n, db, dc, 1)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: trees, MaxDepth: 3}}
	ar, pr := trainPair(t, xb, xc, y, db, dc, opt)
	ref, err := model.TrainVerticalGBDT(xb, db, xc, dc, y, opt.GBDTOptions)
	require.NoError(t, err)
	same, total := compareTrees(t, ar, pr, ref, db)
	t.Logf("%d of %d nodes identical; %d center splits; bank sent %.1f MiB, received %.1f MiB",
		same, total, len(pr.Splits), float64(ar.Stats.SentBytes)/(1<<20), float64(ar.Stats.RecvBytes)/(1<<20))
	require.Equal(t, total, same, "every node identical to the plaintext twin")
	require.NotEmpty(t, pr.Splits, "the center's features carry signal")
	refLogit, err := ref.PredictLogit(model.JoinColumns(xb, db, xc, dc), db+dc)
	require.NoError(t, err)
	for i := range refLogit {
		require.InDelta(t, refLogit[i], ar.Logits[i], 1e-5)
	}

	// Federated prediction on new rows: the reference's logits.
	nb, nc, _ := synthetic(500, db, dc, 9)
	got := predictPair(t, ar, pr, nb, nc, db, dc)
	want, err := ref.PredictLogit(model.JoinColumns(nb, db, nc, dc), db+dc)
	require.NoError(t, err)
	require.InDeltaSlice(t, want, got, 1e-5)
}

// predictPair runs federated prediction over a pipe: one message.
func predictPair(t *testing.T, ar *ActiveResult, pr *PassiveResult, xb, xc []float64, db, dc int) []float64 {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- PredictPassive(ctx, tc, &pr.PassiveModel, xc, dc) }()
	got, err := PredictActiveLogits(ctx, ta, &ar.ActiveModel, xb, db)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, uint64(1), ta.Stats().RecvMessages, "one round trip per batch")
	return got
}

// Each party's model file holds only its own details, round-trips, and
// rejects corruption.
func TestModelFiles(t *testing.T) {
	const n, db, dc = 1500, 2, 3
	xb, xc, y := synthetic(n, db, dc, 4)
	ar, pr := trainPair(t, xb, xc, y, db, dc, Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 2}})
	var ab, pb bytes.Buffer
	require.NoError(t, ar.ActiveModel.Save(&ab))
	require.NoError(t, pr.PassiveModel.Save(&pb))
	require.NotContains(t, ab.String(), "threshold", "the bank's file holds no center threshold")
	require.NotContains(t, pb.String(), "weight", "the center's file holds no leaf weight")
	am, err := LoadActiveModel(bytes.NewReader(ab.Bytes()))
	require.NoError(t, err)
	pm, err := LoadPassiveModel(bytes.NewReader(pb.Bytes()))
	require.NoError(t, err)
	require.Equal(t, ar.ActiveModel, *am)
	require.Equal(t, pr.PassiveModel, *pm)
	got := predictPair(t, &ActiveResult{ActiveModel: *am}, &PassiveResult{PassiveModel: *pm}, xb, xc, db, dc)
	require.InDeltaSlice(t, ar.Logits, got, 1e-9)

	imp := am.Importance()
	require.Len(t, imp, db)
	splits := 0
	for _, i := range pm.Importance() {
		splits += i.Splits
	}
	require.Equal(t, len(pm.Splits), splits)

	bad := strings.Replace(ab.String(), `"party": "active"`, `"party": "bank"`, 1)
	_, err = LoadActiveModel(strings.NewReader(bad))
	require.ErrorIs(t, err, model.ErrBadModel)
	_, err = LoadPassiveModel(strings.NewReader(`{"version": 3}`))
	require.ErrorIs(t, err, model.ErrBadModel)
}

func FuzzLoadActiveModel(f *testing.F) {
	f.Add([]byte(`{"version":1,"options":{"max_depth":1},"binning":{"cuts":[[1]]},"trees":[{"nodes":[{"party":"active","feature":0,"bin":0,"left":1,"right":2},{},{}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadActiveModel(bytes.NewReader(b))
		if err == nil {
			_ = m.Importance()
		}
	})
}
