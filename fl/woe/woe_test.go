package woe

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
	"github.com/veil-fl/veil/model"
)

const sharedData = "../../../shared/data"

var testSeed = []byte("woe-test-joint-seed-0123456789ab")

// synthetic returns raw columns for both parties (some center values
// missing, one center column of few distinct values) and labels drawn from
// a logistic model that uses both.
func synthetic(n, db, dc int, seed uint64) (xb, xc, y []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	xb, xc, y = make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := 0; i < n; i++ {
		z := -1.2
		for j := 0; j < db; j++ {
			xb[i*db+j] = r.NormFloat64() * 10
			z += 0.05 * xb[i*db+j] / float64(j+1)
		}
		for j := 0; j < dc; j++ {
			v := r.ExpFloat64()
			if j == 1 {
				v = float64(r.IntN(4))
			}
			z -= 0.7 * v / float64(j+1)
			if r.IntN(10) == 0 {
				v = math.NaN()
			}
			xc[i*dc+j] = v
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return xb, xc, y
}

// runPair runs both parties over an in-memory pipe.
func runPair(t testing.TB, xb []float64, db int, xc []float64, dc int, y []float64, names []string, opt Options) (*ActiveResult, *PassiveResult, error, error) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
	defer cancel()
	var center *PassiveResult
	done := make(chan error, 1)
	go func() {
		var err error
		center, err = TrainPassive(ctx, tc, testSeed, Data{X: xc, Cols: dc, Names: names})
		done <- err
	}()
	bank, err := TrainActive(ctx, ta, testSeed, Data{X: xb, Cols: db, Y: y}, opt)
	if err != nil {
		ta.Close()
	}
	return bank, center, err, <-done
}

// checkAgainstPlain compares the bank's view of the center's columns with
// the plaintext computation on the center's data and returns the largest
// WOE or IV difference.
func checkAgainstPlain(t testing.TB, got []Column, xc []float64, dc int, y []float64, opt Options) float64 {
	t.Helper()
	want, err := Local(Data{X: xc, Cols: dc, Y: y}, opt)
	require.NoError(t, err)
	require.Len(t, got, dc)
	worst := 0.0
	for j := range want {
		g, w := got[j], want[j]
		require.Equal(t, w.Ends, g.Ends, "column %d merged bins", j)
		require.Equal(t, w.Counts, g.Counts, "column %d counts", j)
		require.Len(t, g.WOE, len(w.WOE))
		for b := range w.WOE {
			worst = max(worst, math.Abs(g.WOE[b]-w.WOE[b]))
		}
		worst = max(worst, math.Abs(g.MissingWOE-w.MissingWOE), math.Abs(g.IV-w.IV))
		require.Equal(t, model.Passive, g.Party)
		require.Nil(t, g.Cuts, "the bank must not hold the center's cuts")
	}
	return worst
}

func TestFederatedMatchesPlain(t *testing.T) {
	xb, xc, y := synthetic(3000, 2, 3, 1)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"quantile 32", Options{}},
		{"quantile 8", Options{Bins: 8}},
		{"optimal chi2", Options{Method: Optimal}},
		{"optimal iv top 3", Options{Method: Optimal, Bins: 20, Merge: model.MergeOptions{Criterion: model.MergeIV, MaxBins: 4}, Select: model.Selection{TopK: 3}}},
		{"threshold", Options{Select: model.Selection{MinIV: 0.05}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bank, center, err, cerr := runPair(t, xb, 2, xc, 3, y, nil, tc.opt)
			require.NoError(t, err)
			require.NoError(t, cerr)
			worst := checkAgainstPlain(t, bank.Center, xc, 3, y, tc.opt)
			require.LessOrEqual(t, worst, 1e-9)

			// The selection: the same on both sides, as Selection says.
			var ivs []float64
			for _, c := range append(append([]Column{}, bank.Bank...), bank.Center...) {
				ivs = append(ivs, c.IV)
			}
			o, _ := tc.opt.WithDefaults()
			keep, err := o.Select.Select(ivs)
			require.NoError(t, err)
			var wantBank, wantCenter []int
			for _, k := range keep {
				if k < 2 {
					wantBank = append(wantBank, k)
				} else {
					wantCenter = append(wantCenter, k-2)
				}
			}
			require.Equal(t, wantBank, bank.Transform.Source)
			require.Equal(t, wantCenter, center.Keep)

			// The center's WOE columns standardize to the true WOE columns.
			if len(center.Keep) == 0 {
				return
			}
			var trueT model.WOETransform
			for _, j := range center.Keep {
				c := bank.Center[j]
				cuts := center.Transform.Columns[len(trueT.Source)].Cuts
				wc, err := model.NewWOEColumn(cuts, c.ColumnWOE)
				require.NoError(t, err)
				trueT.Source = append(trueT.Source, j)
				trueT.Columns = append(trueT.Columns, wc)
			}
			masked, err := center.Transform.Transform(xc, 3)
			require.NoError(t, err)
			plain, err := trueT.Transform(xc, 3)
			require.NoError(t, err)
			m := len(center.Keep)
			sm, _ := model.FitStandardizer(masked, m)
			sp, _ := model.FitStandardizer(plain, m)
			zm, zp := make([]float64, len(masked)), make([]float64, len(plain))
			require.NoError(t, sm.Transform(masked, zm))
			require.NoError(t, sp.Transform(plain, zp))
			require.InDeltaSlice(t, zp, zm, 1e-9)
		})
	}
}

func TestBadInput(t *testing.T) {
	xb, xc, y := synthetic(200, 2, 2, 2)
	bad := append([]float64(nil), y...)
	bad[3] = 2
	for _, tc := range []struct {
		name string
		xb   []float64
		y    []float64
		opt  Options
	}{
		{"bad label", xb, bad, Options{}},
		{"bad method", xb, y, Options{Method: "tree"}},
		{"too many bins", xb, y, Options{Bins: 300}},
		{"ragged", xb[:5], y, Options{}},
		{"bad selection", xb, y, Options{Select: model.Selection{TopK: -2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err, cerr := runPair(t, tc.xb, 2, xc, 2, tc.y, nil, tc.opt)
			require.Error(t, err)
			require.ErrorIs(t, cerr, fl.ErrPeerAborted, "the center must stop with the bank's reason")
		})
	}
	// The center with a different number of rows.
	_, _, err, cerr := runPair(t, xb, 2, xc[:2*150], 2, y, nil, Options{})
	require.Error(t, err)
	require.Error(t, cerr)
}

// TestCenterLabelsRefused: labels are the bank's alone; a center handed
// some refuses them before any exchange, and the bank learns why.
func TestCenterLabelsRefused(t *testing.T) {
	xb, xc, y := synthetic(200, 2, 2, 2)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassive(ctx, tc, testSeed, Data{X: xc, Cols: 2, Y: y})
		done <- err
	}()
	_, bankErr := TrainActive(ctx, ta, testSeed, Data{X: xb, Cols: 2, Y: y}, Options{})
	centerErr := <-done
	require.ErrorIs(t, centerErr, model.ErrShape)
	require.ErrorContains(t, centerErr, "labels are the bank's alone")
	require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
}

func TestScoring(t *testing.T) {
	xb, xc, y := synthetic(400, 2, 3, 3)
	bank, center, err, cerr := runPair(t, xb, 2, xc, 3, y, []string{"tax", "penalties", "utility"}, Options{Method: Optimal})
	require.NoError(t, err)
	require.NoError(t, cerr)
	require.Equal(t, "penalties", bank.Center[1].Name)
	// Any weights will do: the scorecard's points must add up to the LR's.
	zb, err := bank.Transform.Transform(xb, 2)
	require.NoError(t, err)
	zc, err := center.Transform.Transform(xc, 3)
	require.NoError(t, err)
	mb, mc := len(bank.Transform.Columns), len(center.Transform.Columns)
	sb, _ := model.FitStandardizer(zb, mb)
	sc, _ := model.FitStandardizer(zc, mc)
	wb, wc := make([]float64, mb), make([]float64, mc)
	for j := range wb {
		wb[j] = -0.5 - 0.1*float64(j)
	}
	for j := range wc {
		wc[j] = -0.3 * float64(j+1)
	}
	card := model.Scorecard{BasePoints: 600, PDO: 20, BaseOdds: 50}
	hb, err := model.NewScorecardHalf(model.Active, []string{"b0", "b1"}, bank.Transform, sb, wb, -1.5, card)
	require.NoError(t, err)
	hc, err := model.NewScorecardHalf(model.Passive, []string{"tax", "penalties", "utility"}, center.Transform, sc, wc, 0, card)
	require.NoError(t, err)

	ta, tp := fl.NewPipe()
	defer ta.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- ScorePassive(ctx, tp, hc, xc, 3) }()
	pts, err := ScoreActive(ctx, ta, hb, xb, 2)
	require.NoError(t, err)
	require.NoError(t, <-done)
	stb, stc := make([]float64, len(zb)), make([]float64, len(zc))
	require.NoError(t, sb.Transform(zb, stb))
	require.NoError(t, sc.Transform(zc, stc))
	for i := range pts {
		z := -1.5
		for j := range wb {
			z += wb[j] * stb[i*mb+j]
		}
		for j := range wc {
			z += wc[j] * stc[i*mc+j]
		}
		require.InDelta(t, card.PointsFromLogit(z), pts[i], 1e-9, "row %d", i)
	}

	// A center with another number of rows is caught: at the scoring's
	// setup, where the bank announces its rows, and the bank is told why.
	go func() { done <- ScorePassive(ctx, tp, hc, xc[:3*10], 3) }()
	_, err = ScoreActive(ctx, ta, hb, xb, 2)
	cerr = <-done
	require.ErrorIs(t, cerr, ErrProtocol)
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "the bank scores 400 rows, the center 10")
}

// TestDefaultCredit checks the must-show figure: federated WOE/IV of the
// credit center's columns of default_credit equal the plaintext computation
// within 1e-6 (quantile and optimal binning).
func TestDefaultCredit(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: %s is absent (the real datasets ship beside the repository in CI)", sharedData)
	}
	bank, center := fltest.SharedPair(t, sharedData, "default_credit")
	for _, opt := range []Options{{}, {Method: Optimal}} {
		start := time.Now()
		res, _, err, cerr := runPair(t, bank.X, bank.Cols(), center.X, center.Cols(), bank.Labels, center.Columns, opt)
		require.NoError(t, err)
		require.NoError(t, cerr)
		worst := checkAgainstPlain(t, res.Center, center.X, center.Cols(), bank.Labels, opt)
		t.Logf("default_credit %s: %d rows, %d center columns, max |WOE/IV fed - plain| = %.3g, %.2f s (key generation included), %.1f MiB sent by the bank",
			opt.Method, len(bank.Labels), center.Cols(), worst, time.Since(start).Seconds(), float64(res.Stats.SentBytes)/(1<<20))
		for _, c := range res.Center {
			t.Logf("  %-10s IV %.4f  bins %d", c.Name, c.IV, len(c.WOE))
		}
		require.LessOrEqual(t, worst, 1e-6)
	}
}

func FuzzDecodeRowCounts(f *testing.F) {
	bins := [][]uint8{{0, 1, model.MissingBin}, {2, 2, 0}}
	f.Add(encodeRowCounts(bins, []int{2, 3}), 2, 3, 3)
	f.Fuzz(func(t *testing.T, b []byte, nb0, nb1, n int) {
		if nb0 < 0 || nb1 < 0 || nb0 > 300 || nb1 > 300 {
			return
		}
		rows, err := decodeRowCounts(b, []int{nb0, nb1}, n)
		if err != nil {
			return
		}
		for f, r := range rows {
			sum := 0.0
			for _, c := range r {
				sum += c
			}
			if sum != float64(n) {
				t.Fatalf("column %d counts %v rows, not %d", f, sum, n)
			}
		}
	})
}

// A center that reports row counts not adding up is caught by the bank.
func TestTamperedRowCounts(t *testing.T) {
	bank, center := runTampered(t, func(m fl.Message) fl.Message {
		if m.Type == TypeHist {
			m.Payload = append([]byte(nil), m.Payload...)
			m.Payload[len(m.Payload)-1] ^= 1 // the last column's missing-bin count
		}
		return m
	})
	require.ErrorIs(t, bank, ErrProtocol)
	require.Error(t, center)
}

// runTampered runs Active and Passive on 500 synthetic rows (1 bank
// column, 2 center columns) over a pipe whose messages pass through tamper.
func runTampered(t *testing.T, tamper func(fl.Message) fl.Message) (bank, center error) {
	t.Helper()
	xb, xc, y := synthetic(500, 1, 2, 4)
	ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassive(ctx, tc, testSeed, Data{X: xc, Cols: 2})
		done <- err
	}()
	_, bank = TrainActive(ctx, ta, testSeed, Data{X: xb, Cols: 1, Y: y}, Options{})
	return bank, <-done
}

// TestUndeclaredCounts: the center counts, and helps decrypt, one vector of
// labels of exactly one value per agreed row: a bank that sends labels for
// more rows (to count rows the center did not agree to) is refused before
// any histogram is computed, and learns of it by an abort.
func TestUndeclaredCounts(t *testing.T) {
	p := params()
	_, bankKeys, err := hetest.LocalPair(p, he.KeySpec{Pack: true}, []byte("woe-undeclared-test-seed-0123456"))
	require.NoError(t, err)
	longer, err := bankKeys.EncryptCoeffsSeeded(make([]float64, 501), he.HistogramChunk(p, 32, 2, 501))
	require.NoError(t, err)
	lb, err := p.MarshalSeededVector(longer)
	require.NoError(t, err)
	bank, center := runTampered(t, func(m fl.Message) fl.Message {
		if m.Type == TypeLabels {
			m.Payload = lb
		}
		return m
	})
	require.ErrorIs(t, bank, fl.ErrPeerAborted)
	require.ErrorIs(t, center, joint.ErrUnexpectedVector)
	require.ErrorContains(t, center, "labels of 501 values, want 500")
}

// categoricalData adds to synthetic's columns one categorical column per
// party (levels fitted on the rows, a rare label folded, some missing),
// with risk by category that does not follow the codes.
func categoricalData(t *testing.T, n int) (bank, center Data) {
	t.Helper()
	xb, xc, y := synthetic(n, 2, 2, 5)
	r := rand.New(rand.NewPCG(9, 9))
	risk := []float64{-1.2, 1.1, -0.9, 0.8, 0, 1.5}
	labels := []string{"a", "b", "c", "d", "e", "f"}
	add := func(x []float64, d int, name string, maxLevels int) (Data, []float64) {
		out := make([]float64, 0, n*(d+1))
		codes := make([]float64, n)
		for i := 0; i < n; i++ {
			k := r.IntN(4)
			switch u := r.Float64(); {
			case u < 0.02:
				k = 5 // the rarest labels
			case u < 0.07:
				k = 4
			}
			if r.Float64() < 1/(1+math.Exp(1.5-risk[k])) {
				y[i] = 1 // the category moves the label
			}
			codes[i] = float64(k)
			if r.IntN(20) == 0 {
				codes[i] = math.NaN()
			}
			out = append(append(out, x[i*d:(i+1)*d]...), codes[i])
		}
		names := []string{}
		for j := 0; j < d; j++ {
			names = append(names, fmt.Sprintf("%s_num%d", name, j))
		}
		names = append(names, name)
		dict := make([][]string, d+1)
		dict[d] = labels
		cats, err := model.FitCategories(names, dict, out, maxLevels)
		require.NoError(t, err)
		enc, err := cats.Encode(dict, out, d+1)
		require.NoError(t, err)
		return Data{X: enc, Cols: d + 1, Names: names, Categories: cats}, codes
	}
	bank, _ = add(xb, 2, "product", 0)
	center, _ = add(xc, 2, "district", 5) // six labels, five levels: "e" and "f" folded
	bank.Y = y
	return bank, center
}

// runPairWith runs TrainActive and TrainPassive over an in-memory pipe.
func runPairWith(t testing.TB, bank, center Data, opt Options) (*ActiveResult, *PassiveResult, error, error) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
	defer cancel()
	var res *PassiveResult
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = TrainPassive(ctx, tc, testSeed, center)
		done <- err
	}()
	b, err := TrainActive(ctx, ta, testSeed, bank, opt)
	if err != nil {
		ta.Close()
	}
	return b, res, err, <-done
}

// Categorical columns on both sides: the bank's view of the center's
// categorical column (bins = levels, merged by WOE order under the optimal
// method) equals the plaintext computation, the center's transform maps
// its levels to (masked) WOE that standardizes to the true one, and
// scorecards built on both transforms add up to the LR.
func TestFederatedCategorical(t *testing.T) {
	bank, center := categoricalData(t, 3000)
	for _, opt := range []Options{{}, {Method: Optimal, Merge: model.MergeOptions{MaxBins: 3}}} {
		t.Run(opt.Method, func(t *testing.T) {
			b, c, err, cerr := runPairWith(t, bank, center, opt)
			require.NoError(t, err)
			require.NoError(t, cerr)
			plain := center
			plain.Y = bank.Y
			want, err := Local(plain, opt)
			require.NoError(t, err)
			for j := range want {
				g, w := b.Center[j], want[j]
				require.Equal(t, w.Counts, g.Counts, "column %d", j)
				require.Equal(t, w.LevelBins, g.LevelBins, "column %d", j)
				require.InDeltaSlice(t, w.WOE, g.WOE, 1e-9)
				require.InDelta(t, w.IV, g.IV, 1e-9)
			}
			cat := b.Center[2]
			require.Equal(t, 5, cat.QuantileBins, "one bin per level, the rarest labels folded")
			require.Equal(t, []string{"a", "b", "c", "d", model.OtherLabel}, cat.Labels, "the center gave its names")
			require.Equal(t, []string{"e", "f"}, center.Categories.Columns[2].Folded)
			require.Nil(t, cat.Cuts)
			if opt.Method == Optimal {
				require.Len(t, cat.WOE, 3)
				// Merged by risk: the WOE falls with the bin number.
				require.Greater(t, cat.WOE[0], cat.WOE[1])
				require.Greater(t, cat.WOE[1], cat.WOE[2])
			} else {
				require.Equal(t, []int{0, 1, 2, 3, 4}, cat.LevelBins)
			}
			require.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, b.Bank[2].Labels)
			require.NotNil(t, b.Bank[2].LevelBins)

			// Every column kept (no selection): the center's transform is
			// an affine image of the true WOE, level by level.
			require.Equal(t, []int{0, 1, 2}, c.Keep)
			wc := c.Transform.Columns[2]
			require.Equal(t, cat.LevelBins, wc.LevelBins)
			truth, err := model.NewCategoricalWOEColumn(cat.LevelBins, cat.ColumnWOE)
			require.NoError(t, err)
			masked, plainV := []float64{}, []float64{}
			for _, v := range []float64{0, 1, 2, 3, 4, math.NaN()} {
				masked = append(masked, wc.Value(v))
				plainV = append(plainV, truth.Value(v))
			}
			a := (masked[1] - masked[0]) / (plainV[1] - plainV[0])
			for k := range masked {
				require.InDelta(t, masked[0]+a*(plainV[k]-plainV[0]), masked[k], 1e-9, "value %d", k)
			}

			// Scorecards on both transforms equal the LR on the WOE columns.
			zb, err := b.Transform.Transform(bank.X, bank.Cols)
			require.NoError(t, err)
			zc, err := c.Transform.Transform(center.X, center.Cols)
			require.NoError(t, err)
			sb, _ := model.FitStandardizer(zb, 3)
			sc, _ := model.FitStandardizer(zc, 3)
			card := model.Scorecard{}
			hb, err := model.NewScorecardHalf(model.Active, bank.Names, b.Transform, sb, []float64{-0.2, 0.1, -0.7}, -1, card)
			require.NoError(t, err)
			hc, err := model.NewScorecardHalf(model.Passive, center.Names, c.Transform, sc, []float64{0.3, -0.1, -0.5}, 0, card)
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b", "c", "d"}, hc.Features[2].Levels.Labels)
			pb, pc := make([]float64, len(bank.Y)), make([]float64, len(bank.Y))
			require.NoError(t, hb.PartialPoints(bank.X, 3, pb))
			require.NoError(t, hc.PartialPoints(center.X, 3, pc))
			stb, stc := make([]float64, len(zb)), make([]float64, len(zc))
			require.NoError(t, sb.Transform(zb, stb))
			require.NoError(t, sc.Transform(zc, stc))
			for i := range pb {
				z := -1 - 0.2*stb[3*i] + 0.1*stb[3*i+1] - 0.7*stb[3*i+2] + 0.3*stc[3*i] - 0.1*stc[3*i+1] - 0.5*stc[3*i+2]
				require.InDelta(t, card.PointsFromLogit(z), pb[i]+pc[i], 1e-9, "row %d", i)
			}
		})
	}
}

// Without names the center shows neither its column names nor its levels'
// names; the bank still bins the column by level.
func TestCategoricalNamesPrivate(t *testing.T) {
	bank, center := categoricalData(t, 1000)
	center.Names = nil
	b, _, err, cerr := runPairWith(t, bank, center, Options{})
	require.NoError(t, err)
	require.NoError(t, cerr)
	require.Equal(t, "center_2", b.Center[2].Name)
	require.Nil(t, b.Center[2].Labels)
	require.Len(t, b.Center[2].LevelBins, 5)
}
