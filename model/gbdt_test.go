package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
)

// synthetic returns n rows of d features (row-major, some missing when
// missing > 0) and labels drawn from a logistic model on a few of them.
func synthetic(n, d int, missing float64, seed uint64) (x, y []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	x = make([]float64, n*d)
	y = make([]float64, n)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		for j := range row {
			if j%3 == 2 {
				row[j] = float64(r.IntN(5)) // few distinct values
			} else {
				row[j] = r.NormFloat64()
			}
		}
		z := row[0] - 0.8*row[1%d] + 0.5*row[min(2, d-1)] - 1
		for j := range row {
			if r.Float64() < missing {
				row[j] = math.NaN()
			}
		}
		if r.Float64() < Logistic(z) {
			y[i] = 1
		}
	}
	return x, y
}

func TestGBDTOptionsDefaults(t *testing.T) {
	o, err := GBDTOptions{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := GBDTOptions{Trees: 30, MaxDepth: 3, LearningRate: 0.3, Lambda: 1, MinChildWeight: 1, Bins: 32, Subsample: 1, MinNodeRows: DefaultMinNodeRows, MinBinRows: DefaultMinBinRows}
	if o != want {
		t.Errorf("defaults %+v, want %+v", o, want)
	}
	for _, bad := range []GBDTOptions{
		{Trees: -1}, {MaxDepth: -1}, {MaxDepth: 31}, {LearningRate: -0.1}, {LearningRate: math.Inf(1)},
		{Lambda: -1}, {Lambda: math.NaN()}, {Gamma: -1}, {Gamma: math.NaN()}, {MinChildWeight: -1},
		{Bins: 1}, {Bins: 256}, {Subsample: 1.5}, {Subsample: -0.5}, {Subsample: math.NaN()},
		{BaseScore: math.Inf(-1)},
	} {
		if _, err := bad.WithDefaults(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: error %v, want ErrOptions", bad, err)
		}
	}
}

// TestBestSplitByHand checks gain, sums and leaf weights on a histogram
// worked out by hand.
func TestBestSplitByHand(t *testing.T) {
	// One feature, 3 bins: (g, h) = (-2, 1), (1, 1), (1, 2); no missing.
	gl := [][]float64{{-2, -1, 0}}
	hl := [][]float64{{1, 2, 4}}
	opt := GBDTOptions{}
	c, ok := BestSplit(gl, hl, 0, 4, opt)
	if !ok {
		t.Fatal("no split")
	}
	// bin 0: 1/2 [4/2 + 4/4 - 0] = 1.5; bin 1: 1/2 [1/3 + 1/3] = 1/3.
	want := SplitCandidate{Feature: 0, Bin: 0, Gain: 1.5, GL: -2, HL: 1}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("split %+v, want %+v", c, want)
	}
	if w := LeafWeight(-2, 1, opt); w != 0.3 {
		t.Errorf("leaf weight %v, want 0.3 = 2/(1+1)*0.3", w)
	}
	// Gamma 1.6 makes every gain negative; MinChildWeight 2 rules out bin 0.
	if _, ok := BestSplit(gl, hl, 0, 4, GBDTOptions{Gamma: 1.6}); ok {
		t.Error("split despite gamma")
	}
	c, ok = BestSplit(gl, hl, 0, 4, GBDTOptions{MinChildWeight: 2})
	if !ok || c.Bin != 1 {
		t.Errorf("min child weight 2: split %+v %v, want bin 1", c, ok)
	}
	// Shapes that disagree give no split rather than a panic.
	if _, ok := BestSplit(gl, [][]float64{{1, 2}}, 0, 4, opt); ok {
		t.Error("split from ragged histograms")
	}
}

// TestBestSplitTieBreak checks each level of the tie-break order on exact
// ties.
func TestBestSplitTieBreak(t *testing.T) {
	opt := GBDTOptions{}
	// Two identical features: the first wins.
	col := []float64{-2, -1, 0}
	hcol := []float64{1, 2, 4}
	c, ok := BestSplit([][]float64{{0, 0, 0}, col, col}, [][]float64{{0, 0, 4}, hcol, hcol}, 0, 4, opt)
	if !ok || c.Feature != 1 {
		t.Errorf("identical features: split %+v, want feature 1", c)
	}
	// An empty bin makes bins 0 and 1 the same partition: the lower wins.
	c, ok = BestSplit([][]float64{{-2, -2, 0}}, [][]float64{{1, 1, 4}}, 0, 4, opt)
	if !ok || c.Bin != 0 {
		t.Errorf("empty bin: split %+v, want bin 0", c)
	}
	// Present bins (1, 1) and (1, 1), missing (-1, 0.5): bin 0 with the
	// missing rows right, (1, 1) | (0, 1.5), mirrors bin 0 with them left,
	// (0, 1.5) | (1, 1); all present left is below MinChildWeight. Missing
	// right wins.
	c, ok = BestSplit([][]float64{{1, 2}}, [][]float64{{1, 2}}, 1, 2.5, opt)
	if !ok || c.Bin != 0 || c.MissingLeft {
		t.Errorf("mirrored missing: split %+v, want bin 0, missing right", c)
	}
	// Present bins (1, 1) and (-1, 1), missing (1, 0.5): the missing rows
	// are better off with bin 0.
	c, ok = BestSplit([][]float64{{1, 0}}, [][]float64{{1, 2}}, 1, 2.5, opt)
	if !ok || c.Bin != 0 || !c.MissingLeft || c.GL != 2 || c.HL != 1.5 {
		t.Errorf("missing rows like bin 0: split %+v, want bin 0, missing left with GL 2, HL 1.5", c)
	}
}

// TestTrainGBDTObvious trains on data where one feature separates the
// classes and another is noise.
func TestTrainGBDTObvious(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 200
	x := make([]float64, 2*n)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		y[i] = float64(i % 2)
		x[2*i] = r.NormFloat64()
		x[2*i+1] = 10*y[i] + r.Float64() // class 0 in [0, 1), class 1 in [10, 11)
	}
	m, err := TrainGBDT(x, y, 2, GBDTOptions{Trees: 5, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	root := m.Trees[0].Nodes[0]
	if root.Feature != 1 || root.Threshold >= 10 || root.Threshold < 0.9 {
		t.Fatalf("root split %+v, want feature 1 with a threshold in [0.9, 10)", root)
	}
	// Pure children stop splitting: each of their candidates has gain 0.
	if len(m.Trees[0].Nodes) != 3 {
		t.Errorf("first tree has %d nodes, want 3", len(m.Trees[0].Nodes))
	}
	// The left child holds the 100 rows of class 0: g = 1/2, h = 1/4.
	if w := m.Trees[0].Nodes[1].Weight; math.Abs(w+50.0/26*0.3) > 1e-12 {
		t.Errorf("left leaf weight %v, want -50/(25+1)*0.3", w)
	}
	z, err := m.PredictLogit(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range z {
		if (z[i] > 0) != (y[i] == 1) {
			t.Fatalf("row %d (y %v) has logit %v", i, y[i], z[i])
		}
	}
}

// TestTrainGBDTByHand checks a depth-1 tree against the formulas.
func TestTrainGBDTByHand(t *testing.T) {
	x := []float64{0, 0, 1, 1}
	y := []float64{0, 0, 1, 1}
	// p = 0.5: g = 1/2, 1/2, -1/2, -1/2 and h = 1/4 each.
	m, err := TrainGBDT(x, y, 1, GBDTOptions{Trees: 1, MaxDepth: 1, MinChildWeight: 0.5, MinNodeRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{
		{Feature: 0, Bin: 0, Threshold: 0, Left: 1, Right: 2, Weight: 0, Gain: 0.5 * (1/1.5 + 1/1.5), Cover: 1},
		{Feature: -1, Weight: -1 / 1.5 * 0.3, Cover: 0.5},
		{Feature: -1, Weight: 1 / 1.5 * 0.3, Cover: 0.5},
	}
	got := m.Trees[0].Nodes
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-15 }
	if len(got) != len(want) {
		t.Fatalf("tree %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !near(g.Weight, w.Weight) || !near(g.Gain, w.Gain) || !near(g.Cover, w.Cover) {
			t.Errorf("node %d: %+v, want %+v", i, g, w)
		}
		g.Weight, g.Gain, g.Cover = w.Weight, w.Gain, w.Cover
		if !reflect.DeepEqual(g, w) {
			t.Errorf("node %d: %+v, want %+v", i, got[i], w)
		}
	}
}

// TestMissingDirection checks that rows missing the split feature go to
// the side their labels favour.
func TestMissingDirection(t *testing.T) {
	for _, missingLeft := range []bool{false, true} {
		r := rand.New(rand.NewPCG(8, 9))
		n := 600
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			if i%6 == 0 {
				x[i] = math.NaN()
				y[i] = 1
				continue
			}
			x[i] = r.NormFloat64()
			// Positives above 0; with missingLeft, below it.
			if (x[i] > 0) != missingLeft {
				y[i] = 1
			}
		}
		m, err := TrainGBDT(x, y, 1, GBDTOptions{Trees: 3, MaxDepth: 1})
		if err != nil {
			t.Fatal(err)
		}
		root := m.Trees[0].Nodes[0]
		if root.Feature != 0 || root.MissingLeft != missingLeft || math.Abs(root.Threshold) > 0.1 {
			t.Errorf("positives %s: root %+v, want threshold near 0 and MissingLeft %v", map[bool]string{false: "above", true: "below"}[missingLeft], root, missingLeft)
		}
		z, err := m.PredictLogit([]float64{math.NaN()}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if z[0] <= 0 {
			t.Errorf("missing row logit %v, want > 0", z[0])
		}
	}
}

// TestGBDTNoMissingGoesRight checks that a feature without missing training
// rows sends missing values right, as XGBoost does.
func TestGBDTNoMissingGoesRight(t *testing.T) {
	x, y := synthetic(2000, 4, 0, 10)
	m, err := TrainGBDT(x, y, 4, GBDTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, tr := range m.Trees {
		for i, nd := range tr.Nodes {
			if nd.MissingLeft {
				t.Fatalf("trees[%d].nodes[%d] sends missing left without missing training rows", k, i)
			}
		}
	}
}

// TestGBDTSplitsReproduce regrows every split of a trained model from
// histograms built directly over each node's rows (no sibling subtraction)
// and checks that BestSplit finds the same partition with the same gain.
func TestGBDTSplitsReproduce(t *testing.T) {
	for _, subsample := range []float64{1, 0.8} {
		testSplitsReproduce(t, GBDTOptions{Trees: 5, MaxDepth: 4, Subsample: subsample, Seed: 3, MinNodeRows: 1})
		testSplitsReproduce(t, GBDTOptions{Trees: 5, MaxDepth: 6, Subsample: subsample, Seed: 3, MinNodeRows: 150})
	}
}

func testSplitsReproduce(t *testing.T, opt GBDTOptions) {
	x, y := synthetic(3000, 6, 0.1, 11)
	d := 6
	m, err := TrainGBDT(x, y, d, opt)
	if err != nil {
		t.Fatal(err)
	}
	bins, err := m.Binning.Bin(x, d)
	if err != nil {
		t.Fatal(err)
	}
	n := len(y)
	logit := make([]float64, n)
	g := make([]float64, n)
	h := make([]float64, n)
	cut := 0 // leaves the minimum node size made
	defer func() {
		if opt.MinNodeRows > 1 && cut == 0 {
			t.Errorf("the minimum of %d rows made no leaf: the case tests nothing", opt.MinNodeRows)
		}
	}()
	for k, tr := range m.Trees {
		LogisticGradients(logit, y, g, h)
		rows := map[int][]int{0: SubsampleRows(n, m.Options.Subsample, m.Options.Seed, k)}
		depth := map[int]int{0: 0}
		sibling := map[int]int{0: 0}
		for i, nd := range tr.Nodes {
			var G, H float64
			for _, r := range rows[i] {
				G += g[r]
				H += h[r]
			}
			if math.Abs(H-nd.Cover) > 1e-9*H {
				t.Fatalf("tree %d node %d: cover %v, rows sum to %v", k, i, nd.Cover, H)
			}
			if math.Abs(LeafWeight(G, H, opt)-nd.Weight) > 1e-12 {
				t.Fatalf("tree %d node %d: weight %v, want %v", k, i, nd.Weight, LeafWeight(G, H, opt))
			}
			gl := make([][]float64, d)
			hl := make([][]float64, d)
			for f := 0; f < d; f++ {
				gl[f] = make([]float64, m.Binning.NumBins(f))
				hl[f] = make([]float64, m.Binning.NumBins(f))
				for _, r := range rows[i] {
					if b := bins[f][r]; b != MissingBin {
						gl[f][b] += g[r]
						hl[f][b] += h[r]
					}
				}
				for b := 1; b < len(gl[f]); b++ {
					gl[f][b] += gl[f][b-1]
					hl[f][b] += hl[f][b-1]
				}
			}
			c, ok := BestSplit(gl, hl, G, H, opt)
			small := min(len(rows[i]), len(rows[sibling[i]])) < m.Options.MinNodeRows
			if nd.IsLeaf() {
				if ok && depth[i] < m.Options.MaxDepth && !small {
					t.Fatalf("tree %d node %d: leaf, but BestSplit finds %+v", k, i, c)
				}
				if ok && depth[i] < m.Options.MaxDepth {
					cut++
				}
				continue
			}
			if small {
				t.Fatalf("tree %d node %d: split with %d rows (sibling %d), below the minimum %d", k, i, len(rows[i]), len(rows[sibling[i]]), m.Options.MinNodeRows)
			}
			if !ok || math.Abs(c.Gain-nd.Gain) > 1e-9*nd.Gain {
				t.Fatalf("tree %d node %d: split %+v, BestSplit finds %+v %v", k, i, nd, c, ok)
			}
			goLeft := func(b uint8, f, bin int, ml bool) bool {
				return (b == MissingBin && ml) || (b != MissingBin && int(b) <= bin)
			}
			depth[nd.Left], depth[nd.Right] = depth[i]+1, depth[i]+1
			sibling[nd.Left], sibling[nd.Right] = nd.Right, nd.Left
			for _, r := range rows[i] {
				want := goLeft(bins[nd.Feature][r], nd.Feature, nd.Bin, nd.MissingLeft)
				if goLeft(bins[c.Feature][r], c.Feature, c.Bin, c.MissingLeft) != want {
					t.Fatalf("tree %d node %d: split %+v and BestSplit's %+v part the rows differently", k, i, nd, c)
				}
				if want {
					rows[nd.Left] = append(rows[nd.Left], r)
				} else {
					rows[nd.Right] = append(rows[nd.Right], r)
				}
			}
		}
		tr.addBinned(bins, logit)
	}
}

// TestGBDTDeterministic checks that training does not depend on the number
// of threads, and that the binned and raw predictions agree.
func TestGBDTDeterministic(t *testing.T) {
	x, y := synthetic(10000, 20, 0.05, 12)
	opt := GBDTOptions{Trees: 4, Subsample: 0.7, Seed: 1, MinNodeRows: 1}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one, err := TrainGBDT(x, y, 20, opt)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(4)
	four, err := TrainGBDT(x, y, 20, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, four) {
		t.Fatal("models trained with 1 and 4 threads differ")
	}
	opt.Seed = 2
	other, err := TrainGBDT(x, y, 20, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(one.Trees, other.Trees) {
		t.Error("another sample seed grew the same trees")
	}
	// Raw and binned predictions agree, beyond the training range and on
	// infinities too.
	x[0], x[1], x[2] = math.Inf(1), math.Inf(-1), 1e300
	zr, err := one.PredictLogit(x, 20)
	if err != nil {
		t.Fatal(err)
	}
	bins, err := one.Binning.Bin(x, 20)
	if err != nil {
		t.Fatal(err)
	}
	zb, err := one.PredictBinnedLogit(bins)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(zr, zb) {
		t.Error("raw and binned predictions differ")
	}
}

func TestSubsampleRows(t *testing.T) {
	if got := SubsampleRows(5, 1, 9, 3); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("rate 1: %v", got)
	}
	a := SubsampleRows(10000, 0.3, 9, 3)
	if !slices.Equal(a, SubsampleRows(10000, 0.3, 9, 3)) {
		t.Error("same seed and tree, another sample")
	}
	if slices.Equal(a, SubsampleRows(10000, 0.3, 9, 4)) {
		t.Error("another tree, same sample")
	}
	if len(a) < 2800 || len(a) > 3200 || !slices.IsSorted(a) {
		t.Errorf("rate 0.3 of 10000 rows: %d rows, sorted %v", len(a), slices.IsSorted(a))
	}
}

func TestTrainGBDTErrors(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	y := []float64{0, 1}
	if _, err := TrainGBDT(x, y, 3, GBDTOptions{}); !errors.Is(err, ErrShape) {
		t.Errorf("ragged: %v", err)
	}
	if _, err := TrainGBDT(x, []float64{0, 2}, 2, GBDTOptions{}); !errors.Is(err, ErrLabels) {
		t.Errorf("label 2: %v", err)
	}
	if _, err := TrainGBDT(x, y, 2, GBDTOptions{Subsample: 2}); !errors.Is(err, ErrOptions) {
		t.Errorf("subsample 2: %v", err)
	}
	b := Binning{Cuts: [][]float64{{1.5}}}
	if _, err := TrainGBDTBinned([][]uint8{{0, 2}}, b, y, GBDTOptions{}); !errors.Is(err, ErrShape) {
		t.Errorf("bin 2 of 2: %v", err)
	}
	if _, err := TrainGBDTBinned([][]uint8{{0, 1, 1}}, b, y, GBDTOptions{}); !errors.Is(err, ErrShape) {
		t.Errorf("3 binned rows for 2 labels: %v", err)
	}
	if _, err := TrainGBDTBinned([][]uint8{{0, 1}}, Binning{Cuts: [][]float64{{2, 1}}}, y, GBDTOptions{}); !errors.Is(err, ErrOptions) {
		t.Errorf("unsorted cuts: %v", err)
	}
	if _, err := TrainGBDTBinned([][]uint8{{0, 1}}, b, y, GBDTOptions{Bins: 1}); !errors.Is(err, ErrOptions) {
		t.Errorf("1 bin: %v", err)
	}
	if _, err := TrainGBDTBinned([][]uint8{{0, 2}}, Binning{Cuts: [][]float64{{1, 2}}}, y, GBDTOptions{Bins: 2}); !errors.Is(err, ErrOptions) {
		t.Errorf("3 bins for Bins 2: %v", err)
	}
	if m, err := TrainGBDTBinned([][]uint8{{0, MissingBin}}, b, y, GBDTOptions{Trees: 2}); err != nil || len(m.Trees) != 2 {
		t.Errorf("two rows: %v", err)
	}
}

func BenchmarkTrainGBDT(b *testing.B) {
	x, y := synthetic(30000, 23, 0.02, 13)
	b.ResetTimer()
	for b.Loop() {
		if _, err := TrainGBDT(x, y, 23, GBDTOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fit")
}
