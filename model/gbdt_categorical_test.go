package model

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestBestSplitCategoricalByHand: the bins are ordered by g/(h+lambda) and
// the best prefix is a set no threshold can cut.
func TestBestSplitCategoricalByHand(t *testing.T) {
	// Per bin (g, h): (-2, 1), (2, 1), (-1, 1); no missing rows. Ratios
	// -1, 1, -0.5: the order is bins 0, 2, 1. Prefix {0}: GL -2, HL 1,
	// gain 1/2 [4/2 + 1/3 - 1/4] = 1.0417; prefix {0, 2}: GL -3, HL 2,
	// gain 1/2 [9/3 + 4/2 - 1/4] = 2.375. A threshold finds at best 1.0417.
	gl := [][]float64{{-2, 0, -1}}
	hl := [][]float64{{1, 2, 3}}
	c, ok := SplitSearch{Categorical: []bool{true}}.Best(gl, hl, -1, 3, GBDTOptions{})
	if !ok {
		t.Fatal("no split")
	}
	// The last bin goes left, so do the missing rows (none in the node):
	// a missing value at prediction follows the sums that counted it.
	want := SplitCandidate{Feature: 0, LeftBins: []int{0, 2}, MissingLeft: true, Gain: 2.375, GL: -3, HL: 2}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("split %+v, want %+v", c, want)
	}
	n, ok := BestSplit(gl, hl, -1, 3, GBDTOptions{})
	if !ok || n.LeftBins != nil || n.Bin != 0 || math.Abs(n.Gain-(2+1.0/3-0.25)/2) > 1e-12 {
		t.Errorf("numeric split %+v, want bin 0 of gain 1.0417", n)
	}

	// Missing rows (G -1, H 4: missing (0, 1)) are tried on both sides;
	// here they are better off right, with bin 1.
	c, ok = SplitSearch{Categorical: []bool{true}}.Best(gl, hl, -1, 4, GBDTOptions{})
	if !ok || !slices.Equal(c.LeftBins, []int{0, 2}) || c.MissingLeft {
		t.Errorf("with missing rows: split %+v, want bins [0 2], missing right", c)
	}
	// Missing rows (-4, 1) belong with bins 0 and 2.
	c, ok = SplitSearch{Categorical: []bool{true}}.Best(gl, hl, -5, 4, GBDTOptions{})
	if !ok || !slices.Equal(c.LeftBins, []int{0, 2}) || !c.MissingLeft || c.GL != -7 || c.HL != 3 {
		t.Errorf("missing rows like bins 0 and 2: split %+v, want bins [0 2], missing left, GL -7, HL 3", c)
	}

	// Bins without rows go right, whatever their place: bin 1 is empty.
	c, ok = SplitSearch{Categorical: []bool{true}}.Best([][]float64{{-2, -2, 0}}, [][]float64{{1, 1, 2}}, 0, 2, GBDTOptions{Lambda: 1e-12})
	if !ok || !slices.Equal(c.LeftBins, []int{0}) {
		t.Errorf("empty bin: split %+v, want bins [0]", c)
	}
	// A feature that is numeric beside a categorical one keeps its rule,
	// and shapes that disagree give no split.
	if _, ok := (SplitSearch{Categorical: []bool{true, false}}).Best(gl, hl, -1, 3, GBDTOptions{}); ok {
		t.Error("split with a mark per feature missing")
	}
	if _, ok := (SplitSearch{Noise: []float64{0, 0}}).Best(gl, hl, -1, 3, GBDTOptions{}); ok {
		t.Error("split with noise for two features of one")
	}
}

// TestBestSplitCategoricalTies: bins of equal ratio keep their bin order,
// and with Noise, ratios within the noise's reach count as equal, so that
// noisy sums order the bins as exact ones do.
func TestBestSplitCategoricalTies(t *testing.T) {
	opt := GBDTOptions{MinChildWeight: 1e-12}
	// Per bin (g, h): (1, 1), (-1, 1), (-1, 1), (1, 1): bins 1 and 2 tie
	// at ratio -1/2, and {1, 2} | {0, 3} is the best split; the prefix of
	// one of them, {1}, is the first candidate met of the tie's gains.
	per := [][2]float64{{1, 1}, {-1, 1}, {-1, 1}, {1, 1}}
	gl, hl := cum(per)
	c, ok := SplitSearch{Categorical: []bool{true}}.Best([][]float64{gl}, [][]float64{hl}, 0, 4, opt)
	if !ok || !slices.Equal(c.LeftBins, []int{1, 2}) {
		t.Fatalf("split %+v, want bins [1 2]", c)
	}
	// Four bins of ratio 0 but one: exact zeros tie, the order is by bin.
	per = [][2]float64{{0, 2}, {0, 1}, {-3, 1}, {0, 1}}
	gl, hl = cum(per)
	c, ok = SplitSearch{Categorical: []bool{true}}.Best([][]float64{gl}, [][]float64{hl}, -3, 5, opt)
	if !ok || !slices.Equal(c.LeftBins, []int{2}) {
		t.Fatalf("zeros: split %+v, want bins [2]", c)
	}

	// A tie inside the best prefix: per bin (1, 1), (-3, 1), (1, 1), (3, 2)
	// with MinChildWeight 2, so that {1} alone is too light and the best
	// left set is bin 1 with one of the tied bins 0 and 2: bin 0, the
	// lower. Noise of 2e-9 on bin 2's sums makes it look the better one;
	// with Noise 1e-8 the order is the exact sums'.
	light := GBDTOptions{MinChildWeight: 2}
	exact := [][2]float64{{1, 1}, {-3, 1}, {1, 1}, {3, 2}}
	noisy := [][2]float64{{1, 1}, {-3, 1}, {1 - 2e-9, 1 + 1e-9}, {3, 2}}
	ge, he := cum(exact)
	gn, hn := cum(noisy)
	want, ok := SplitSearch{Categorical: []bool{true}}.Best([][]float64{ge}, [][]float64{he}, ge[3], he[3], light)
	if !ok || !slices.Equal(want.LeftBins, []int{0, 1}) {
		t.Fatalf("exact sums: split %+v, want bins [0 1]", want)
	}
	got, ok := SplitSearch{Categorical: []bool{true}, Noise: []float64{1e-8}}.Best([][]float64{gn}, [][]float64{hn}, gn[3], hn[3], light)
	if !ok || !slices.Equal(got.LeftBins, want.LeftBins) || got.MissingLeft != want.MissingLeft {
		t.Errorf("noisy sums with Noise: split %+v, exact %+v", got, want)
	}
	bare, ok := SplitSearch{Categorical: []bool{true}}.Best([][]float64{gn}, [][]float64{hn}, gn[3], hn[3], light)
	if !ok || !slices.Equal(bare.LeftBins, []int{1, 2}) {
		t.Errorf("noisy sums without Noise: split %+v; want the noise deciding, bins [1 2]", bare)
	}
}

// cum returns the cumulative sums of per-bin (g, h).
func cum(per [][2]float64) (gl, hl []float64) {
	var g, h float64
	for _, p := range per {
		g += p[0]
		h += p[1]
		gl, hl = append(gl, g), append(hl, h)
	}
	return gl, hl
}

// levelsData returns a categorical column of 6 levels whose risk is not
// monotone in the level's code (levels 1 and 4 default most), with
// missing cells, beside a numeric column of noise.
func levelsData(n int, seed uint64) (x, y []float64) {
	r := rand.New(rand.NewPCG(seed, 9))
	risk := []float64{-1, 1.5, -0.5, -1, 2, 0}
	x, y = make([]float64, 2*n), make([]float64, n)
	for i := 0; i < n; i++ {
		lv := r.IntN(len(risk))
		x[2*i], x[2*i+1] = float64(lv), r.NormFloat64()
		z := risk[lv] - 0.5
		if r.Float64() < 0.05 {
			x[2*i] = math.NaN()
			z = 1
		}
		if r.Float64() < Logistic(z) {
			y[i] = 1
		}
	}
	return x, y
}

// TestTrainGBDTCategorical: the first split puts the risky levels on one
// side, raw and binned prediction agree, an unseen level (NaN, or a code
// past the binning's) takes the missing direction, and a bad code is
// refused.
func TestTrainGBDTCategorical(t *testing.T) {
	const n = 3000
	x, y := levelsData(n, 1)
	cat := []bool{true, false}
	b, err := FitBinningCategorical(x, 2, 32, cat)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Cuts[0], []float64{0, 1, 2, 3, 4}) || !b.IsCategorical(0) || b.IsCategorical(1) {
		t.Fatalf("binning %+v, want levels 0..5 in column 0", b)
	}
	bins, err := b.Bin(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainGBDTBinned(bins, b, y, GBDTOptions{Trees: 5, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	root := m.Trees[0].Nodes[0]
	if root.Feature != 0 || !(slices.Equal(root.LeftBins, []int{1, 4}) || slices.Equal(root.LeftBins, []int{0, 2, 3, 5})) || root.Threshold != 0 || root.Bin != 0 {
		t.Fatalf("root %+v, want the levels 1 and 4 apart from the others", root)
	}
	if risky := slices.Contains(root.LeftBins, 1); root.MissingLeft != risky {
		t.Errorf("root %+v: the risky missing rows go with levels 0, 2, 3, 5", root)
	}
	raw, err := m.PredictLogit(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	binned, err := m.PredictBinnedLogit(bins)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw, binned) {
		t.Error("raw and binned predictions differ")
	}

	// Unseen: NaN (a label the encoding does not know) and code 6 (a level
	// the training rows did not hold) both go where missing values go.
	rows := []float64{math.NaN(), 0.3, 6, 0.3, 1, 0.3}
	z, err := m.PredictLogit(rows, 2)
	if err != nil {
		t.Fatal(err)
	}
	if z[0] != z[1] {
		t.Errorf("logits %v: an unseen level and a missing one differ", z)
	}
	for _, bad := range []float64{-1, 1.5, math.Inf(1)} {
		if _, err := m.PredictLogit([]float64{bad, 0}, 2); !errors.Is(err, ErrCategories) {
			t.Errorf("code %v: error %v, want ErrCategories", bad, err)
		}
		if _, err := b.Bin([]float64{bad, 0}, 2); !errors.Is(err, ErrCategories) {
			t.Errorf("Bin of code %v: error %v, want ErrCategories", bad, err)
		}
	}

	// A numeric twin of the same column needs more than one split for it.
	num, err := TrainGBDT(x, y, 2, GBDTOptions{Trees: 1, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if num.Trees[0].Nodes[0].Gain >= root.Gain {
		t.Errorf("a threshold on the codes gains %v, the level set %v", num.Trees[0].Nodes[0].Gain, root.Gain)
	}
}

// TestFitBinningCategoricalErrors: codes that are not levels are refused,
// naming row and column, as are categorical cuts that are not the levels.
func TestFitBinningCategoricalErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		x    []float64
		cat  []bool
		want error
	}{
		{"fraction", []float64{1.5, 0}, []bool{true, false}, ErrCategories},
		{"negative", []float64{-1, 0}, []bool{true, false}, ErrCategories},
		{"more levels than bins", []float64{4, 0}, []bool{true, false}, ErrCategories},
		{"marks", []float64{0, 0}, []bool{true}, ErrShape},
	} {
		_, err := FitBinningCategorical(c.x, 2, 4, c.cat)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if errors.Is(err, ErrCategories) && !strings.Contains(err.Error(), "row 0 column 0") {
			t.Errorf("%s: error %v does not name row and column", c.name, err)
		}
	}
	b, err := FitBinningCategorical([]float64{0, 1, math.NaN(), 2}, 1, 4, []bool{false})
	if err != nil || b.Categorical != nil {
		t.Errorf("no column categorical: binning %+v, %v; want no marks", b, err)
	}
	for _, bad := range []Binning{
		{Cuts: [][]float64{{0, 2}}, Categorical: []bool{true}},
		{Cuts: [][]float64{{1}}, Categorical: []bool{true}},
		{Cuts: [][]float64{{0}}, Categorical: []bool{true, false}},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrBadModel) {
			t.Errorf("Validate %+v: %v, want ErrBadModel", bad, err)
		}
	}
}

// TestCategoricalMerged: with a passive categorical feature whose thin
// levels the center merges, a split names kept bins, and its node sends
// every level of a merged gap where the gap's kept bin goes.
func TestCategoricalMerged(t *testing.T) {
	const n = 4000
	r := rand.New(rand.NewPCG(3, 3))
	// The center's column: 12 levels, levels 3, 7 and 8 held by a few rows
	// each, merged into the next kept bin; levels 2 and 9 risky.
	share := []float64{10, 10, 10, 0.2, 10, 10, 10, 0.2, 0.2, 10, 10, 10}
	var total float64
	for _, s := range share {
		total += s
	}
	xb, xc, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		u, lv := r.Float64()*total, 0
		for ; lv < len(share)-1 && u >= share[lv]; lv++ {
			u -= share[lv]
		}
		xc[i], xb[i] = float64(lv), r.NormFloat64()
		z := -1.5 + 0.3*xb[i]
		if lv == 2 || lv == 9 || lv == 8 {
			z += 2.5
		}
		if r.Float64() < Logistic(z) {
			y[i] = 1
		}
	}
	m, err := TrainVerticalGBDTCategorical(xb, 1, nil, xc, 1, []bool{true}, y, GBDTOptions{Trees: 3, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	root := m.Trees[0].Nodes[0]
	if root.Feature != 1 || root.LeftBins == nil {
		t.Fatalf("root %+v, want a split on the center's levels", root)
	}
	// At the root the gaps are level 3 in 4's, 7 and 8 in 9's: a level and
	// the kept bin it was merged into are on the same side.
	in := func(b int) bool { return slices.Contains(root.LeftBins, b) }
	if in(3) != in(4) || in(7) != in(9) || in(8) != in(9) {
		t.Errorf("root sends left %v: a merged level apart from its kept bin", root.LeftBins)
	}
	if in(2) == in(0) {
		t.Errorf("root sends left %v: the risky level 2 with level 0", root.LeftBins)
	}
	logits, err := m.PredictLogit(JoinColumns(xb, 1, xc, 1), 2)
	if err != nil {
		t.Fatal(err)
	}
	if auc, _ := AUC(logits, y); auc < 0.7 {
		t.Errorf("training AUC %.3f", auc)
	}
}

// TestGBDTCategoricalFile: a model with a categorical feature round-trips
// through its file (version 2); a numeric one's file names no categorical
// field; a version 1 file, the format before categorical features, still
// loads, but may not hold them; the validator checks the left bins.
func TestGBDTCategoricalFile(t *testing.T) {
	x, y := levelsData(1500, 2)
	b, err := FitBinningCategorical(x, 2, 32, []bool{true, false})
	if err != nil {
		t.Fatal(err)
	}
	bins, err := b.Bin(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainGBDTBinned(bins, b, y, GBDTOptions{Trees: 2, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"left_bins"`) || !strings.Contains(buf.String(), `"version": 2`) {
		t.Fatal("the file holds no left bins, or not version 2")
	}
	got, err := LoadGBDT(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatal("model changed in a file round trip")
	}
	old := strings.Replace(buf.String(), `"version": 2`, `"version": 1`, 1)
	if _, err := LoadGBDT(strings.NewReader(old)); !errors.Is(err, ErrBadModel) {
		t.Errorf("version 1 with categorical features: %v, want ErrBadModel", err)
	}

	num := testGBDT(t)
	buf.Reset()
	if err := num.Save(&buf); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"left_bins", "categorical"} {
		if strings.Contains(buf.String(), field) {
			t.Errorf("a numeric model's file names %q", field)
		}
	}
	old = strings.Replace(buf.String(), `"version": 2`, `"version": 1`, 1)
	v1, err := LoadGBDT(strings.NewReader(old))
	if err != nil {
		t.Fatalf("version 1 file: %v", err)
	}
	if v1.Version != 1 || !reflect.DeepEqual(v1.Trees, num.Trees) {
		t.Error("version 1 file read differently")
	}

	split := func(m *GBDT) *Node {
		for i, nd := range m.Trees[0].Nodes {
			if nd.LeftBins != nil {
				return &m.Trees[0].Nodes[i]
			}
		}
		t.Fatal("no categorical split")
		return nil
	}
	for _, c := range []struct {
		name, want string
		edit       func(m *GBDT)
	}{
		{"no left bins", "no bin goes left", func(m *GBDT) { split(m).LeftBins = []int{} }},
		{"bin out of range", "bin 6", func(m *GBDT) { split(m).LeftBins = []int{0, 6} }},
		{"unsorted", "ascending", func(m *GBDT) { split(m).LeftBins = []int{2, 1} }},
		{"repeated", "ascending", func(m *GBDT) { split(m).LeftBins = []int{1, 1} }},
		{"bin set", "bin 1", func(m *GBDT) { split(m).Bin = 1 }},
		{"threshold set", "threshold", func(m *GBDT) { split(m).Threshold = 0.5 }},
		{"left bins on a numeric feature", "left_bins set on numeric", func(m *GBDT) { m.Binning.Categorical = nil; m.Binning.Cuts[0] = []float64{0.5, 1, 2, 3, 4} }},
		{"leaf with left bins", "is a leaf", func(m *GBDT) {
			for i, nd := range m.Trees[0].Nodes {
				if nd.IsLeaf() {
					m.Trees[0].Nodes[i].LeftBins = []int{0}
					return
				}
			}
		}},
	} {
		mm, err := LoadGBDT(bytes.NewReader(func() []byte { var w bytes.Buffer; _ = m.Save(&w); return w.Bytes() }()))
		if err != nil {
			t.Fatal(err)
		}
		c.edit(mm)
		if err := mm.Validate(); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrBadModel naming %q", c.name, err, c.want)
		}
	}
}

// TestGoesLeft: the one routing rule, numeric and categorical.
func TestGoesLeft(t *testing.T) {
	for _, c := range []struct {
		b     uint8
		bin   int
		miss  bool
		left  []int
		wants bool
	}{
		{0, 0, false, nil, true},
		{1, 0, false, nil, false},
		{MissingBin, 5, true, nil, true},
		{MissingBin, 5, false, nil, false},
		{3, 0, false, []int{1, 3}, true},
		{0, 0, false, []int{1, 3}, false},
		{2, 9, false, []int{1, 3}, false},
		{MissingBin, 0, true, []int{1}, true},
	} {
		if got := GoesLeft(c.b, c.bin, c.miss, c.left); got != c.wants {
			t.Errorf("GoesLeft(%d, %d, %v, %v) = %v", c.b, c.bin, c.miss, c.left, got)
		}
	}
	g := BinGaps{Keep: []bool{false, true, true, false, true}}
	if got := g.Expand([]int{1, 4}); !slices.Equal(got, []int{0, 1, 3, 4}) {
		t.Errorf("Expand = %v, want [0 1 3 4]", got)
	}
}
