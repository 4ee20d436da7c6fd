package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFitBinningDistinctValues(t *testing.T) {
	nan := math.NaN()
	x := []float64{ // 6 rows x 2 columns
		3, 7,
		1, 7,
		2, nan,
		2, 7,
		nan, nan,
		1, 7,
	}
	b, err := FitBinning(x, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Cuts[0], []float64{1, 2}) || len(b.Cuts[1]) != 0 {
		t.Fatalf("cuts %v, want [[1 2] []]", b.Cuts)
	}
	bins, err := b.Bin(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{2, 0, 1, 1, MissingBin, 0}; !slices.Equal(bins[0], want) {
		t.Errorf("column 0 bins %v, want %v", bins[0], want)
	}
	if want := []uint8{0, 0, MissingBin, 0, MissingBin, 0}; !slices.Equal(bins[1], want) {
		t.Errorf("column 1 bins %v, want %v", bins[1], want)
	}
	// Values never seen fall by the same rule; infinities in the end bins.
	got, err := b.Bin([]float64{0.5, 0, 1.5, 0, 2.5, 0, math.Inf(-1), 0, math.Inf(1), 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{0, 1, 2, 0, 2}; !slices.Equal(got[0], want) {
		t.Errorf("bins of unseen values %v, want %v", got[0], want)
	}
}

func TestFitBinningQuantiles(t *testing.T) {
	// 0..999 in 4 bins: targets 250.5, 500, 749.5 choose 250, 500 and 749,
	// whose boundaries sit below them.
	x := make([]float64, 1000)
	for i := range x {
		x[i] = float64(999 - i)
	}
	b, err := FitBinning(x, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{249, 499, 748}; !slices.Equal(b.Cuts[0], want) {
		t.Fatalf("cuts %v, want %v", b.Cuts[0], want)
	}
}

// TestFitBinningTies checks that a column whose minimum fills half the rows
// (an amount that is often 0) still gets all its bins, as XGBoost's do: the
// target ranks run between the minimum's and the maximum's.
func TestFitBinningTies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 5000)
	for i := range x {
		if i%2 == 1 {
			x[i] = math.Abs(r.NormFloat64())
		}
	}
	b, err := FitBinning(x, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Cuts[0]); got != 31 {
		t.Errorf("%d cuts, want 31", got)
	}
}

// TestBinningProperties checks the documented invariants on random columns
// with ties and missing values.
func TestBinningProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(400)
		maxBins := 2 + r.IntN(40)
		levels := 1 + r.IntN(80)
		x := make([]float64, n)
		for i := range x {
			switch {
			case r.IntN(10) == 0:
				x[i] = math.NaN()
			case trial%2 == 0:
				x[i] = float64(r.IntN(levels)) - 7
			default:
				x[i] = r.NormFloat64() * 1e3
			}
		}
		b, err := FitBinning(x, 1, maxBins)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
		cuts := b.Cuts[0]
		var present []float64
		for _, v := range x {
			if !math.IsNaN(v) {
				present = append(present, v)
			}
		}
		slices.Sort(present)
		present = slices.Compact(present)
		if len(cuts) > maxBins-1 {
			t.Fatalf("trial %d: %d cuts for %d bins", trial, len(cuts), maxBins)
		}
		if len(present) > 0 && len(cuts) > 0 && cuts[len(cuts)-1] >= present[len(present)-1] {
			t.Fatalf("trial %d: last cut %v not below the maximum %v", trial, cuts[len(cuts)-1], present[len(present)-1])
		}
		if len(present) <= maxBins && !slices.Equal(cuts, present[:max(len(present)-1, 0)]) {
			t.Fatalf("trial %d: %d distinct values %v, cuts %v", trial, len(present), present, cuts)
		}
		for _, c := range cuts {
			if _, ok := slices.BinarySearch(present, c); !ok {
				t.Fatalf("trial %d: cut %v is not a training value", trial, c)
			}
		}
		bins, err := b.Bin(x, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			bin := bins[0][i]
			if math.IsNaN(v) {
				if bin != MissingBin {
					t.Fatalf("trial %d: NaN in bin %d", trial, bin)
				}
				continue
			}
			if int(bin) > len(cuts) {
				t.Fatalf("trial %d: bin %d of %d", trial, bin, len(cuts)+1)
			}
			for k, c := range cuts {
				if (int(bin) <= k) != (v <= c) {
					t.Fatalf("trial %d: value %v in bin %d, cut %d is %v", trial, v, bin, k, c)
				}
			}
		}
	}
}

func TestBinningErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		x       []float64
		d, bins int
		want    error
	}{
		{"no columns", []float64{1}, 0, 32, ErrShape},
		{"ragged", []float64{1, 2, 3}, 2, 32, ErrShape},
		{"one bin", []float64{1, 2}, 1, 1, ErrOptions},
		{"too many bins", []float64{1, 2}, 1, 256, ErrOptions},
		{"infinite", []float64{1, math.Inf(1)}, 1, 32, ErrNotFinite},
	} {
		if _, err := FitBinning(c.x, c.d, c.bins); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	b := Binning{Cuts: [][]float64{{1, 2}}}
	if _, err := b.Bin([]float64{1, 2}, 2); !errors.Is(err, ErrShape) {
		t.Errorf("Bin with 2 columns for a binning of 1: %v", err)
	}
	for _, cuts := range [][]float64{{2, 1}, {1, 1}, {math.NaN()}, {math.Inf(1)}, make([]float64, MaxBins)} {
		if err := (Binning{Cuts: [][]float64{cuts}}).Validate(); !errors.Is(err, ErrBadModel) {
			t.Errorf("Validate %v: %v", cuts, err)
		}
	}
}

func TestSortFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 10, 511, 512, 5000} {
		s := make([]float64, n)
		for i := range s {
			switch r.IntN(5) {
			case 0:
				s[i] = float64(r.IntN(3)) - 1
			case 1:
				s[i] = math.Copysign(0, -1)
			case 2:
				s[i] = r.NormFloat64() * 1e300
			default:
				s[i] = r.NormFloat64() * 1e-300
			}
		}
		want := slices.Clone(s)
		slices.Sort(want)
		sortFloats(s, nil, nil)
		for i := range s {
			if s[i] != want[i] {
				t.Fatalf("n = %d: sorted[%d] = %v, want %v", n, i, s[i], want[i])
			}
		}
	}
}

func TestBinningSizes(t *testing.T) {
	b := Binning{Cuts: [][]float64{{1, 2}, {}, {0.5, 1, 1.5, 2}}}
	per, widest := b.Sizes()
	if !slices.Equal(per, []int{3, 1, 5}) || widest != 5 {
		t.Fatalf("sizes %v, widest %d; want [3 1 5], 5", per, widest)
	}
	if per, widest = (Binning{}).Sizes(); len(per) != 0 || widest != 1 {
		t.Fatalf("empty binning: sizes %v, widest %d; want [], 1", per, widest)
	}
}
