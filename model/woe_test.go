package model

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCountBins(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bins    []uint8
		nb      int
		y       []float64
		want    BinCounts
		wantErr error
	}{
		{"two bins and missing", []uint8{0, 1, 1, MissingBin, 0}, 2, []float64{1, 0, 1, 1, 0},
			BinCounts{Events: []float64{1, 1}, NonEvents: []float64{1, 1}, MissingEvents: 1}, nil},
		{"empty bin", []uint8{0, 0}, 3, []float64{0, 1},
			BinCounts{Events: []float64{1, 0, 0}, NonEvents: []float64{1, 0, 0}}, nil},
		{"bad label", []uint8{0}, 1, []float64{2}, BinCounts{}, ErrLabels},
		{"bin out of range", []uint8{3}, 2, []float64{1}, BinCounts{}, ErrShape},
		{"length mismatch", []uint8{0, 1}, 2, []float64{1}, BinCounts{}, ErrShape},
		{"no bins", []uint8{}, 0, []float64{}, BinCounts{}, ErrOptions},
	} {
		got, err := CountBins(tc.bins, tc.nb, tc.y)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			continue
		}
		if err == nil && (!slices.Equal(got.Events, tc.want.Events) || !slices.Equal(got.NonEvents, tc.want.NonEvents) ||
			got.MissingEvents != tc.want.MissingEvents || got.MissingNonEvents != tc.want.MissingNonEvents) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWOE(t *testing.T) {
	// Totals: 4 events, 6 non-events.
	c := BinCounts{Events: []float64{1, 3, 0}, NonEvents: []float64{4, 2, 0}}
	w, err := c.WOE(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Log((4.0 / 6) / (1.0 / 4)), math.Log((2.0 / 6) / (3.0 / 4)), 0}
	iv := (4.0/6-1.0/4)*want[0] + (2.0/6-3.0/4)*want[1]
	for b := range want {
		if math.Abs(w.WOE[b]-want[b]) > 1e-12 {
			t.Errorf("WOE[%d] = %v, want %v", b, w.WOE[b], want[b])
		}
	}
	if math.Abs(w.IV-iv) > 1e-12 || w.MissingWOE != 0 {
		t.Errorf("IV %v missing %v, want %v and 0", w.IV, w.MissingWOE, iv)
	}
	// A bin without non-events gets the adjustment.
	c = BinCounts{Events: []float64{2, 2}, NonEvents: []float64{4, 0}}
	w, err = c.WOE(0.5)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.WOE[1], math.Log((0.5/4)/(2.5/4)); math.Abs(got-want) > 1e-12 {
		t.Errorf("adjusted WOE %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name string
		c    BinCounts
		adj  float64
		want error
	}{
		{"no events", BinCounts{Events: []float64{0}, NonEvents: []float64{3}}, 0, ErrLabels},
		{"negative count", BinCounts{Events: []float64{-1}, NonEvents: []float64{3}}, 0, ErrNotFinite},
		{"NaN count", BinCounts{Events: []float64{1}, NonEvents: []float64{3}, MissingEvents: math.NaN()}, 0, ErrNotFinite},
		{"ragged", BinCounts{Events: []float64{1, 2}, NonEvents: []float64{3}}, 0, ErrShape},
		{"bad adjustment", BinCounts{Events: []float64{1}, NonEvents: []float64{3}}, -1, ErrOptions},
	} {
		if _, err := tc.c.WOE(tc.adj); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// randomCounts draws counts of nb bins whose event rate rises with the bin
// index plus noise.
func randomCounts(r *rand.Rand, nb int) BinCounts {
	c := BinCounts{Events: make([]float64, nb), NonEvents: make([]float64, nb)}
	for b := range nb {
		n := float64(r.IntN(200))
		rate := 0.1 + 0.6*float64(b)/float64(nb) + 0.2*(r.Float64()-0.5)
		c.Events[b] = math.Round(n * max(0, min(1, rate)))
		c.NonEvents[b] = n - c.Events[b]
	}
	c.MissingEvents, c.MissingNonEvents = 3, 10
	return c
}

func TestOptimalBins(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		nb   int
		opt  MergeOptions
	}{
		{"chi2 defaults", 32, MergeOptions{}},
		{"iv defaults", 32, MergeOptions{Criterion: MergeIV}},
		{"chi2 4 bins", 20, MergeOptions{MaxBins: 4, MinShare: 0.1}},
		{"iv 10 bins", 64, MergeOptions{Criterion: MergeIV, MaxBins: 10, MinShare: 0.02}},
		{"one bin", 1, MergeOptions{}},
	} {
		for trial := range 20 {
			c := randomCounts(r, tc.nb)
			if trial == 0 && tc.nb > 3 {
				c.Events[2], c.NonEvents[2] = 0, 0 // an empty bin
			}
			ends, err := OptimalBins(c, tc.opt)
			if err != nil {
				if tc.nb == 1 || errors.Is(err, ErrLabels) {
					continue
				}
				t.Fatalf("%s: %v", tc.name, err)
			}
			o, _ := tc.opt.WithDefaults()
			m, err := c.Merge(ends)
			if err != nil {
				t.Fatalf("%s: %v (ends %v)", tc.name, err, ends)
			}
			if len(ends) > o.MaxBins {
				t.Errorf("%s: %d bins, at most %d wanted", tc.name, len(ends), o.MaxBins)
			}
			E, NE := c.Totals()
			present := E + NE - c.MissingEvents - c.MissingNonEvents
			rising, falling := true, true
			for k := range ends {
				n := m.Events[k] + m.NonEvents[k]
				if len(ends) > 1 && n < o.MinShare*present {
					t.Errorf("%s: bin %d holds %v of %v rows", tc.name, k, n, present)
				}
				if k > 0 {
					r0 := m.Events[k-1] / (m.Events[k-1] + m.NonEvents[k-1])
					r1 := m.Events[k] / n
					rising = rising && r1 >= r0
					falling = falling && r1 <= r0
				}
			}
			if !rising && !falling {
				t.Errorf("%s: event rates not monotone over ends %v: %+v", tc.name, ends, m)
			}
			// The merged counts keep the totals.
			if E2, NE2 := m.Totals(); E2 != E || NE2 != NE {
				t.Errorf("%s: totals %v %v after merging, %v %v before", tc.name, E2, NE2, E, NE)
			}
		}
	}
	if _, err := OptimalBins(randomCounts(r, 5), MergeOptions{Criterion: "gini"}); !errors.Is(err, ErrOptions) {
		t.Errorf("unknown criterion: %v, want ErrOptions", err)
	}
	if _, err := OptimalBins(BinCounts{}, MergeOptions{}); !errors.Is(err, ErrShape) {
		t.Errorf("no bins: %v, want ErrShape", err)
	}
}

func TestOptimalBinsFallingTrend(t *testing.T) {
	// Event rates 0.5, 0.4, 0.45, 0.2, 0.1: falling with one break at bin 2.
	c := BinCounts{Events: []float64{50, 40, 45, 20, 10}, NonEvents: []float64{50, 60, 55, 80, 90}}
	ends, err := OptimalBins(c, MergeOptions{MaxBins: 10, MinShare: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 2, 3, 4}; !slices.Equal(ends, want) {
		t.Errorf("ends %v, want %v", ends, want)
	}
}

func TestMergeAndCuts(t *testing.T) {
	c := BinCounts{Events: []float64{1, 2, 3, 4}, NonEvents: []float64{5, 6, 7, 8}, MissingEvents: 9}
	m, err := c.Merge([]int{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Events, []float64{3, 7}) || !slices.Equal(m.NonEvents, []float64{11, 15}) || m.MissingEvents != 9 {
		t.Errorf("merged %+v", m)
	}
	cuts, err := MergedCuts([]float64{10, 20, 30}, []int{1, 3})
	if err != nil || !slices.Equal(cuts, []float64{20}) {
		t.Errorf("MergedCuts = %v, %v; want [20]", cuts, err)
	}
	for _, ends := range [][]int{nil, {1, 2}, {2, 1, 3}, {-1, 3}, {3, 4}} {
		if _, err := c.Merge(ends); !errors.Is(err, ErrShape) {
			t.Errorf("Merge(%v): %v, want ErrShape", ends, err)
		}
	}
}

func TestSelect(t *testing.T) {
	iv := []float64{0.01, 0.3, 0.05, 0.3, 0.2}
	for _, tc := range []struct {
		name string
		s    Selection
		want []int
	}{
		{"all", Selection{}, []int{0, 1, 2, 3, 4}},
		{"threshold", Selection{MinIV: 0.05}, []int{1, 2, 3, 4}},
		{"top 2 ties by index", Selection{TopK: 2}, []int{1, 3}},
		{"threshold then top", Selection{MinIV: 0.1, TopK: 2}, []int{1, 3}},
		{"none", Selection{MinIV: 1}, nil},
	} {
		got, err := tc.s.Select(iv)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := (Selection{TopK: -1}).Select(iv); !errors.Is(err, ErrOptions) {
		t.Errorf("negative top-k: %v", err)
	}
	if _, err := (Selection{}).Select([]float64{math.NaN()}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN IV: %v", err)
	}
}

func TestWOETransform(t *testing.T) {
	tr := WOETransform{Source: []int{1}, Columns: []WOEColumn{{Cuts: []float64{0, 10}, Values: []float64{-1, 0.5, 2}, Missing: 0.25}}}
	x := []float64{7, -3, 7, 0, 7, 5, 7, 11, 7, math.NaN(), 7, math.Inf(1)}
	got, err := tr.Transform(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{-1, -1, 0.5, 2, 0.25, 2}; !slices.Equal(got, want) {
		t.Errorf("Transform = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name string
		tr   WOETransform
		d    int
	}{
		{"source out of range", WOETransform{Source: []int{2}, Columns: tr.Columns}, 2},
		{"ragged", WOETransform{Source: []int{0, 1}, Columns: tr.Columns}, 2},
		{"bad column", WOETransform{Source: []int{0}, Columns: []WOEColumn{{Cuts: []float64{1}, Values: []float64{1}}}}, 2},
		{"bad d", tr, 0},
	} {
		if _, err := tc.tr.Transform(x, tc.d); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// scorecardFixture builds both halves of a small WOE scorecard and returns
// them with the raw data and the logits of the LR they come from.
func scorecardFixture(t testing.TB) (bank, center *ScorecardHalf, xb, xc []float64, logits []float64) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 50
	xb, xc = make([]float64, 2*n), make([]float64, n)
	for i := range xb {
		xb[i] = r.NormFloat64()
	}
	for i := range xc {
		xc[i] = r.NormFloat64()
		if i%7 == 0 {
			xc[i] = math.NaN()
		}
	}
	tb := WOETransform{Source: []int{0, 1}, Columns: []WOEColumn{
		{Cuts: []float64{-0.5, 0.5}, Values: []float64{-0.7, 0.1, 0.9}},
		{Cuts: []float64{0}, Values: []float64{0.3, -0.4}, Missing: 0.2},
	}}
	tc := WOETransform{Source: []int{0}, Columns: []WOEColumn{{Cuts: []float64{-1, 0, 1}, Values: []float64{-1.2, -0.2, 0.4, 1.1}, Missing: -0.3}}}
	wb, wc := []float64{-0.8, -0.3}, []float64{-1.1}
	intercept := -1.2
	zb, err := tb.Transform(xb, 2)
	if err != nil {
		t.Fatal(err)
	}
	zc, err := tc.Transform(xc, 1)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := FitStandardizer(zb, 2)
	sc, _ := FitStandardizer(zc, 1)
	sc.Clip = 1.5
	card := Scorecard{BasePoints: 600, PDO: 40, BaseOdds: 20}
	bank, err = NewScorecardHalf(Active, []string{"b0", "b1"}, tb, sb, wb, intercept, card)
	if err != nil {
		t.Fatal(err)
	}
	center, err = NewScorecardHalf(Passive, []string{"c0"}, tc, sc, wc, 0, card)
	if err != nil {
		t.Fatal(err)
	}
	stb, stc := make([]float64, len(zb)), make([]float64, len(zc))
	_ = sb.Transform(zb, stb)
	_ = sc.Transform(zc, stc)
	logits = make([]float64, n)
	for i := range logits {
		logits[i] = intercept + stb[2*i]*wb[0] + stb[2*i+1]*wb[1] + stc[i]*wc[0]
	}
	return bank, center, xb, xc, logits
}

func TestScorecardHalvesAddUp(t *testing.T) {
	bank, center, xb, xc, logits := scorecardFixture(t)
	pb, pc := make([]float64, len(logits)), make([]float64, len(logits))
	if err := bank.PartialPoints(xb, 2, pb); err != nil {
		t.Fatal(err)
	}
	if err := center.PartialPoints(xc, 1, pc); err != nil {
		t.Fatal(err)
	}
	card := Scorecard{BasePoints: 600, PDO: 40, BaseOdds: 20}
	for i, z := range logits {
		if want := card.PointsFromLogit(z); math.Abs(pb[i]+pc[i]-want) > 1e-9 {
			t.Fatalf("row %d: %v + %v points, want %v", i, pb[i], pc[i], want)
		}
	}
	if center.BasePoints != 0 {
		t.Errorf("center base points %v", center.BasePoints)
	}
	if err := bank.PartialPoints(xb, 1, pb); !errors.Is(err, ErrShape) {
		t.Errorf("wrong width: %v", err)
	}
}

func TestScorecardHalfFile(t *testing.T) {
	bank, _, _, _, _ := scorecardFixture(t)
	var buf bytes.Buffer
	if err := bank.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := LoadScorecardHalf(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.BasePoints != bank.BasePoints || len(got.Features) != 2 || !slices.Equal(got.Features[0].Points, bank.Features[0].Points) {
		t.Errorf("round trip: %+v, want %+v", got, bank)
	}
	good := buf.String()
	for _, tc := range []struct{ name, file string }{
		{"empty", ""},
		{"other version", strings.Replace(good, `"version": 1`, `"version": 2`, 1)},
		{"unknown field", strings.Replace(good, `"party"`, `"extra": 1, "party"`, 1)},
		{"bad party", strings.Replace(good, `"active"`, `"bank"`, 1)},
		{"trailing", good + "{}"},
		{"unsorted cuts", strings.Replace(good, `-0.5,`, `0.7,`, 1)},
		{"no name", strings.Replace(good, `"b0"`, `""`, 1)},
	} {
		if _, err := LoadScorecardHalf(strings.NewReader(tc.file)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: %v, want ErrBadModel", tc.name, err)
		}
	}
}

func FuzzLoadScorecardHalf(f *testing.F) {
	bank, center, _, _, _ := scorecardFixture(f)
	for _, h := range []*ScorecardHalf{bank, center} {
		var buf bytes.Buffer
		if err := h.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"version":1,"party":"passive","base_points":0,"features":[{"name":"a","column":3,"cuts":[],"points":[1],"missing_points":0}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := LoadScorecardHalf(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error %v does not wrap ErrBadModel", err)
			}
			return
		}
		// A loaded card scores any row of the right width without panicking.
		d := 1
		for _, f := range h.Features {
			d = max(d, f.Column+1)
		}
		if d > 1<<12 {
			return
		}
		x := make([]float64, 2*d)
		x[0] = math.NaN()
		dst := make([]float64, 2)
		if err := h.PartialPoints(x, d, dst); err != nil {
			t.Fatalf("PartialPoints on a loaded card: %v", err)
		}
		var buf bytes.Buffer
		if err := h.Save(&buf); err != nil {
			t.Fatalf("Save of a loaded card: %v", err)
		}
	})
}
