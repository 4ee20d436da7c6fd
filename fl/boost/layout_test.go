package boost

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/testmode"
	"github.com/veil-fl/veil/model"
)

// TestKernelBins: the parted layout's kernel bins give, part by part, the
// cumulative sums of the whole layout (feature f's sum at bin b at part
// b/8, bin b%8), and past the feature's last bin the total of its present
// rows; a missing row counts nowhere.
func TestKernelBins(t *testing.T) {
	p := params()
	for _, K := range []int{2, 8, 13, 32, 33} {
		t.Run(fmt.Sprint(K), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(K), 1))
			const n, F = 300, 3
			bins := make([][]uint8, F)
			vals := make([]float64, n)
			for j := range vals {
				vals[j] = r.NormFloat64()
			}
			for f := range bins {
				bins[f] = make([]uint8, n)
				for j := range bins[f] {
					bins[f][j] = uint8(r.IntN(K))
					if r.IntN(10) == 0 {
						bins[f][j] = model.MissingBin
					}
				}
			}
			for _, B := range partSizes {
				lay := partedLayout(p, K, B)
				require.Equal(t, B, lay.K)
				require.Equal(t, (K+B-1)/B, lay.P)
				require.GreaterOrEqual(t, lay.Width, K)
				require.LessOrEqual(t, lay.Width, layoutWidth(K))
				require.Equal(t, he.HistogramStride(p, B), lay.S)
				kb := lay.kernelBins(bins)
				require.Len(t, kb, F*lay.P)
				for f := range F {
					for b := range lay.Width {
						var want, got float64
						for j, v := range vals {
							if bins[f][j] != model.MissingBin && int(bins[f][j]) <= b {
								want += v
							}
							if vb := kb[f*lay.P+b/B][j]; int(vb) < B && int(vb) <= b%B {
								got += v
							}
						}
						require.InDelta(t, want, got, 1e-9, "%d bins a part: feature %d bin %d", B, f, b)
					}
				}
			}
			whole := wholeLayout(p, K, F, n)
			require.Equal(t, slices.Concat(bins...), slices.Concat(whole.kernelBins(bins)...), "the whole layout keeps the bins")
		})
	}
}

// TestChooseLayout: without a link speed every level is whole; on a
// 100 Mbit/s link the parted layout wins where the bytes dominate (few
// center features, many rows) and loses where the packing does (hundreds
// of features over many nodes).
func TestChooseLayout(t *testing.T) {
	p := params()
	for _, c := range []struct {
		K, F, nodes, rows int
		mbps              float64
		B                 int // bins a part; 0: the whole layout
	}{
		{32, 10, 1, 24_000, 0, 0},
		{32, 10, 1, 24_000, 100, 4},  // default_credit's root
		{32, 10, 2, 12_000, 100, 8},  // two nodes of half the rows: more packing
		{32, 10, 1, 24_000, 1000, 8}, // a fast link: less packing
		{32, 10, 1, 24_000, 10, 2},   // a slow one: the fewest bytes
		{32, 300, 1, 100_000, 0, 0},
		{32, 300, 1, 100_000, 100, 8},
		{32, 300, 8, 50_000, 100, 0},
		{8, 10, 1, 24_000, 100, 2},
		{2, 10, 1, 24_000, 100, 0}, // nothing to part
	} {
		got := chooseLayout(p, c.K, c.F, c.nodes, c.rows, c.mbps)
		if c.B == 0 {
			require.Equal(t, wholeLayout(p, c.K, c.nodes*c.F, c.rows), got, "%+v", c)
		} else {
			require.Equal(t, partedLayout(p, c.K, c.B), got, "%+v", c)
		}
	}
	// Below a root whose gradients the center keeps: few features reuse
	// them, hundreds over many nodes do not; never without a link.
	root := partedLayout(p, 32, 4)
	for _, c := range []struct {
		F, nodes, rows, n int
		mbps              float64
		reuse             bool
	}{
		{10, 1, 12_000, 24_000, 100, true},
		{10, 2, 12_000, 24_000, 100, false}, // two nodes: the root's 4-bin packing costs more than 8-bin gradients
		{10, 2, 12_000, 24_000, 0, false},
		{300, 8, 50_000, 100_000, 100, false},
	} {
		var keep *histLayout
		if c.mbps > 0 {
			keep = &root
		}
		got, reuse := chooseLevel(p, 32, c.F, c.nodes, c.rows, c.n, keep, c.mbps)
		require.Equal(t, c.reuse, reuse, "%+v", c)
		if reuse {
			require.Equal(t, root, got, "the root's layout")
		}
	}
	require.Error(t, checkLink(math.NaN()))
	require.Error(t, checkLink(-1))
	require.Error(t, checkLink(math.Inf(1)))
	require.NoError(t, checkLink(0))
}

// kindBytes returns the payload bytes per message type of msgs.
func kindBytes(msgs []fl.Message) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Type] += len(m.Payload)
	}
	return out
}

func formatKinds(k map[string]int) string {
	var names []string
	for n := range k {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s %.2f MiB;", n, float64(k[n])/(1<<20))
	}
	return b.String()
}

// trainRecorded trains a pair and returns both results and the messages
// each party sent.
func trainRecorded(t *testing.T, xb, xc, y []float64, db, dc int, opt Options) (*ActiveResult, *PassiveResult, []fl.Message, []fl.Message) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ra, rc := fltest.Record(ta), fltest.Record(tc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := []byte("boost-test-joint-seed-0123456789a")
	var pr *PassiveResult
	done := make(chan error, 1)
	go func() {
		var err error
		pr, err = TrainPassive(ctx, rc, seed, Data{X: xc, Cols: dc})
		done <- err
	}()
	ar, err := TrainActive(ctx, ra, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return ar, pr, ra.Sent(), rc.Sent()
}

// TestPartedLayout: with a link speed the levels go in the parted layout,
// the trees stay the plaintext twin's node for node (with bins a multiple
// of 8 and not), and the bank's gradient messages (boost.level) shrink to
// about a quarter of the whole layout's for the same training; the bytes
// of every message kind are logged.
func TestPartedLayout(t *testing.T) {
	const db, dc = 3, 4
	n, trees := 3000, 3
	if testing.Short() {
		n, trees = 1500, 2
	}
	xb, xc, y := synthetic(n, db, dc, 1)
	for _, c := range []struct {
		bins  int
		ratio float64 // the most parted/whole gradient bytes (small nodes pad their chunks)
	}{{32, 0.5}, {13, 0.7}} {
		bins := c.bins
		if testing.Short() && bins != 32 {
			continue // the race pass: one case
		}
		t.Run(fmt.Sprint(bins), func(t *testing.T) {
			gb := model.GBDTOptions{Trees: trees, MaxDepth: 3, Bins: bins}
			ref, err := model.TrainVerticalGBDT(xb, db, xc, dc, y, gb)
			require.NoError(t, err)
			var levelBytes [2]int
			for i, mbps := range []float64{0, 100} {
				ar, pr, sent, recv := trainRecorded(t, xb, xc, y, db, dc, Options{GBDTOptions: gb, LinkMbps: mbps})
				same, total := compareTrees(t, ar, pr, ref, db)
				require.Equal(t, total, same, "every node identical to the plaintext twin at %v Mbit/s", mbps)
				require.NotEmpty(t, pr.Splits)
				bk, ck := kindBytes(sent), kindBytes(recv)
				levelBytes[i] = bk[TypeLevel]
				t.Logf("link %v Mbit/s: bank sent %.2f MiB:%s center sent %.2f MiB:%s", mbps,
					float64(ar.Stats.SentBytes)/(1<<20), formatKinds(bk), float64(ar.Stats.RecvBytes)/(1<<20), formatKinds(ck))
			}
			ratio := float64(levelBytes[1]) / float64(levelBytes[0])
			t.Logf("parted/whole gradient bytes: %.3f", ratio)
			require.Less(t, ratio, c.ratio, "fewer ciphertexts for the same rows")
		})
	}
}

// TestRealDataBytes trains default_credit from ../shared/data (30 trees
// of depth 3, 32 bins, the TestRealData split) with a link speed of 100
// Mbit/s (and without one, TestRealData's case, with VEIL_TEST=full), checks
// each against the plaintext twin node for node, and logs the time and the
// bytes of every message kind each way.
func TestRealDataBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real-data training in -short mode")
	}
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: %s is absent", sharedData)
	}
	btr, _, ctr, _ := sharedSplit(t, "default_credit")
	db, dc := btr.Cols(), ctr.Cols()
	gb := model.GBDTOptions{Trees: 30, MaxDepth: 3, Bins: 32, LearningRate: 0.3, Lambda: 1}
	ref, err := model.TrainVerticalGBDT(btr.X, db, ctr.X, dc, btr.Labels, gb)
	require.NoError(t, err)
	speeds := []float64{100}
	if testmode.Full() {
		speeds = []float64{0, 100}
	}
	for _, mbps := range speeds {
		ar, pr, sent, recv := trainRecorded(t, btr.X, ctr.X, btr.Labels, db, dc, Options{GBDTOptions: gb, LinkMbps: mbps})
		same, total := compareTrees(t, ar, pr, ref, db)
		t.Logf("default_credit, link %v Mbit/s: %d/%d nodes identical, %.1f s; bank sent %.1f MiB:%s center sent %.1f MiB:%s", mbps, same, total,
			ar.Duration.Seconds(), float64(ar.Stats.SentBytes)/(1<<20), formatKinds(kindBytes(sent)), float64(ar.Stats.RecvBytes)/(1<<20), formatKinds(kindBytes(recv)))
		require.Equal(t, total, same)
	}
}

// TestReuseLevelRefusesGradients: on a level the center computes from the
// root's gradients, a bank that sends gradients anyway is refused, and the
// training stops on both sides.
func TestReuseLevelRefusesGradients(t *testing.T) {
	const n, db, dc = 1500, 2, 3
	xb, xc, y := synthetic(n, db, dc, 3)
	var hit atomic.Bool
	var prev [][]int32 // the last level's rows, to decode a level of splits
	tamper := func(m fl.Message) fl.Message {
		parts, err := fl.SplitParts(m.Payload, 3)
		if m.Type != TypeLevel || hit.Load() || err != nil || len(parts[0]) == 0 {
			return m
		}
		lvl, err := decodeLevel(parts[0], n, prev)
		prev = lvl.Rows
		if len(parts[1]) != 0 {
			return m
		}
		if err != nil || len(lvl.Compute) == 0 {
			return m
		}
		hit.Store(true)
		m.Payload = fl.JoinParts(parts[0], []byte("gradients"), parts[2])
		return m
	}
	seed := []byte("boost-test-joint-seed-0123456789d")
	bank, center := trainTampered(tamper, seed, xb, xc, y, db, dc, Options{GBDTOptions: model.GBDTOptions{Trees: 2, MaxDepth: 3}, LinkMbps: 100})
	require.True(t, hit.Load(), "a level computed from the root's gradients")
	require.ErrorIs(t, center, ErrProtocol)
	require.ErrorContains(t, center, "gradients with a level computed from the root's")
	require.ErrorIs(t, bank, fl.ErrPeerAborted)
}

// TestRoundedGradientsBound: the center refuses gradients rounded by more
// bits than the level's noise bound allows (he.HistInputDropBits), which
// its flooding is sized from, and the training stops on both sides; the
// bank's own rounding is within it (the other tests train).
func TestRoundedGradientsBound(t *testing.T) {
	const n, db, dc = 1500, 2, 3
	xb, xc, y := synthetic(n, db, dc, 3)
	p := he.MustParams(he.Hist13)
	var hit atomic.Bool
	tamper := func(m fl.Message) fl.Message {
		if m.Type != TypeLevel || hit.Load() {
			return m
		}
		parts, err := fl.SplitParts(m.Payload, 3)
		if err != nil || len(parts[1]) == 0 {
			return m
		}
		sv, err := p.UnmarshalSeededVectorRounded(parts[1])
		require.NoError(t, err)
		require.Positive(t, sv.Dropped, "the bank rounds its gradients")
		more, err := p.MarshalSeededVectorRounded(sv, sv.Dropped+1)
		require.NoError(t, err)
		hit.Store(true)
		m.Payload = fl.JoinParts(parts[0], more, parts[2])
		return m
	}
	seed := []byte("boost-test-joint-seed-0123456789d")
	bank, center := trainTampered(tamper, seed, xb, xc, y, db, dc, Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}})
	require.True(t, hit.Load())
	require.ErrorContains(t, center, "noise bound allows")
	require.ErrorIs(t, bank, fl.ErrPeerAborted)
}

// TestLevelSplits: a level below the root travels as its parents' splits,
// a bit a row, and decodes to the same nodes; the decoder refuses parents
// out of order or out of range, bits past a parent's rows, missing bits
// and other formats.
func TestLevelSplits(t *testing.T) {
	prev := [][]int32{{0, 2, 4, 6, 8, 10, 12, 14, 16}, {1, 3}, {5, 7, 9}}
	b := encodeLevelSplits([]int{0, 2}, [][]byte{{0b1010_0101, 0b1}, {0b010}}, []int{1, 2})
	l, err := decodeLevel(b, 20, prev)
	require.NoError(t, err)
	require.Equal(t, level{Rows: [][]int32{{0, 4, 10, 14, 16}, {2, 6, 8, 12}, {7}, {5, 9}}, Compute: []int{1, 2}}, l)
	rows := len(encodeLevel(l))
	t.Logf("%d bytes as splits, %d as rows", len(b), rows)
	require.Less(t, len(b), rows)
	for name, bad := range map[string][]byte{
		"parents out of order": encodeLevelSplits([]int{2, 0}, [][]byte{{0}, {0, 0}}, nil),
		"parent out of range":  encodeLevelSplits([]int{3}, [][]byte{{0}}, nil),
		"bits past the rows":   encodeLevelSplits([]int{1}, [][]byte{{0b100}}, nil),
		"missing bits":         encodeLevelSplits([]int{0}, [][]byte{{0}}, nil),
		"other format":         append([]byte{7}, b[1:]...),
		"empty":                nil,
	} {
		_, err := decodeLevel(bad, 20, prev)
		require.ErrorIs(t, err, ErrProtocol, name)
	}
	_, err = decodeLevel(b, 20, nil)
	require.ErrorIs(t, err, ErrProtocol, "no level above the root")

	// The root of every row in order: no rows on the wire.
	root := appendCompute([]byte{levelRoot}, []int{0})
	l, err = decodeLevel(root, 5, nil)
	require.NoError(t, err)
	require.Equal(t, level{Rows: [][]int32{{0, 1, 2, 3, 4}}, Compute: []int{0}}, l)
	_, err = decodeLevel(root, 5, prev)
	require.ErrorIs(t, err, ErrProtocol, "a root below a level")
}

// TestPartedLayoutCategorical: categorical features at both parties, with
// a link speed (parted layouts, levels from the root's gradients): the
// trees are the plaintext twin's node for node.
func TestPartedLayoutCategorical(t *testing.T) {
	if testing.Short() {
		t.Skip("the categorical parted training runs in the full suite")
	}
	rows, trees := 3000, 4
	bank, center := categoricalTables(t, rows, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: trees, MaxDepth: 3}, LinkMbps: 100}
	ar, pr := trainSides(t, bank, center, opt)
	ref, err := model.TrainVerticalGBDTCategorical(bank.x, bank.cols(), bank.cat, center.x, center.cols(), center.cat, bank.t.Labels, opt.GBDTOptions)
	require.NoError(t, err)
	same, total := compareTrees(t, ar, pr, ref, bank.cols())
	centerCat := 0
	for _, s := range pr.Splits {
		if s.LeftBins != nil {
			centerCat++
		}
	}
	t.Logf("%d of %d nodes identical; %d center categorical splits", same, total, centerCat)
	require.Equal(t, total, same)
	require.Positive(t, centerCat)
}

// TestPartedLayoutDP: differentially private histograms with a link speed
// hide the first tree's defaulter counts as they do without (the attack of
// TestDPHistograms reads almost none exactly).
func TestPartedLayoutDP(t *testing.T) {
	if testing.Short() {
		t.Skip("the DP attack test runs in the full suite")
	}
	const n, db, dc = 2000, 2, 3
	xb, xc, y := synthetic(n, db, dc, 31)
	binning, err := model.FitBinning(xc, dc, 32)
	require.NoError(t, err)
	bins, err := binning.Bin(xc, dc)
	require.NoError(t, err)
	count := func(seen []seenNode) (exact, total int) {
		root := seen[0]
		p0 := root.g[root.rows[0]]
		if p0 < 0 {
			p0++
		}
		h0 := root.h[root.rows[0]]
		for f := 0; f < dc; f++ {
			for b := range root.pg[f] {
				truth := 0
				for _, i := range root.rows {
					if bins[f][i] != model.MissingBin && int(bins[f][i]) <= b && y[i] == 1 {
						truth++
					}
				}
				got := p0*root.ph[f][b]/h0 - root.pg[f][b]
				if math.Abs(got-float64(truth)) < 0.01 {
					exact++
				}
				total++
			}
		}
		return exact, total
	}
	base := model.GBDTOptions{Trees: 2, MaxDepth: 3}
	exact, total := count(trainSeen(t, xb, xc, y, db, dc, Options{GBDTOptions: base, LinkMbps: 100}, 0))
	require.Equal(t, total, exact, "the attack works without DP, parted too")
	exact, total = count(trainSeen(t, xb, xc, y, db, dc, Options{GBDTOptions: base, LinkMbps: 100, DP: &DP{Epsilon: 8, Delta: 1e-5}}, 0))
	t.Logf("with DP and a link speed: %d of %d counts read exactly", exact, total)
	require.Less(t, exact, total/10)
}

// TestPartedLayoutResume: with a link speed, a training cut off and
// resumed ends with the uninterrupted model bit for bit.
func TestPartedLayoutResume(t *testing.T) {
	if testing.Short() {
		t.Skip("the resumed parted training runs in the full suite")
	}
	const n, db, dc = 1500, 3, 4
	xb, xc, y := synthetic(n, db, dc, 21)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 3}, LinkMbps: 100}
	ref := runPipe(xb, xc, y, db, dc, opt, "", "")
	require.NoError(t, ref.BankErr)
	require.NoError(t, ref.CenterErr)
	h := resumeHarness(xb, xc, y, db, dc, opt)
	h.AfterFaults(t, ref.Messages, []float64{0.7}, func(t *testing.T, drop int, res pairResult, _, _ string) {
		t.Logf("drop after %d of %d messages: resumed at tree %d of %d", drop, ref.Messages, res.Bank.Resumed, opt.Trees)
		require.Positive(t, res.Bank.Resumed)
		requireSameModel(t, ref, res)
	})
}
