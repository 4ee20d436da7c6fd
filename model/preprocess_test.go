package model

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestStandardizer(t *testing.T) {
	nan := math.NaN()
	// Columns: with a missing value, constant, all missing, plain.
	x := []float64{
		1, 5, nan, 1,
		nan, 5, nan, 2,
		3, 5, nan, 3,
		nan, 5, nan, 4,
	}
	s, err := FitStandardizer(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	wantMean := []float64{2, 5, 0, 2.5}
	wantStd := []float64{1, 1, 1, math.Sqrt(1.25)} // population std
	for j := range wantMean {
		if math.Abs(s.Mean[j]-wantMean[j]) > 1e-12 || math.Abs(s.Std[j]-wantStd[j]) > 1e-12 {
			t.Errorf("column %d: mean %v std %v, want %v %v", j, s.Mean[j], s.Std[j], wantMean[j], wantStd[j])
		}
	}
	dst := make([]float64, len(x))
	if err := s.Transform(x, dst); err != nil {
		t.Fatal(err)
	}
	want := []float64{
		-1, 0, 0, -1.5 / math.Sqrt(1.25),
		0, 0, 0, -0.5 / math.Sqrt(1.25),
		1, 0, 0, 0.5 / math.Sqrt(1.25),
		0, 0, 0, 1.5 / math.Sqrt(1.25),
	}
	for i := range want {
		if math.Abs(dst[i]-want[i]) > 1e-12 {
			t.Fatalf("Transform[%d] = %v, want %v", i, dst[i], want[i])
		}
	}
	// In place gives the same.
	in := slices.Clone(x)
	if err := s.Transform(in, in); err != nil || !slices.Equal(in, dst) {
		t.Errorf("in-place transform differs: %v %v", in, err)
	}
	// Clip winsorizes after standardizing.
	s.Clip = 1
	if err := s.Transform(x, dst); err != nil {
		t.Fatal(err)
	}
	if got := dst[15]; got != 1 {
		t.Errorf("clipped value %v, want 1", got)
	}
	// JSON round trip.
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var back Standardizer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Mean, s.Mean) || !slices.Equal(back.Std, s.Std) || back.Clip != s.Clip {
		t.Errorf("JSON round trip: %+v, want %+v", back, s)
	}
}

func TestStandardizerErrors(t *testing.T) {
	if _, err := FitStandardizer([]float64{1, 2, 3}, 2); !errors.Is(err, ErrShape) {
		t.Errorf("ragged rows: %v", err)
	}
	if _, err := FitStandardizer([]float64{1, 2}, 0); !errors.Is(err, ErrShape) {
		t.Errorf("zero columns: %v", err)
	}
	if _, err := FitStandardizer([]float64{1, math.Inf(1)}, 1); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Inf value: %v", err)
	}
	s := Standardizer{Mean: []float64{0, 0}, Std: []float64{1, 1}}
	if err := s.Transform([]float64{1, 2, 3}, make([]float64, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("ragged transform: %v", err)
	}
	if err := s.Transform([]float64{1, 2}, make([]float64, 4)); !errors.Is(err, ErrShape) {
		t.Errorf("short destination: %v", err)
	}
	for _, bad := range []Standardizer{
		{Mean: []float64{0}, Std: []float64{1, 1}},
		{Mean: []float64{math.NaN()}, Std: []float64{1}},
		{Mean: []float64{0}, Std: []float64{0}},
		{Mean: []float64{0}, Std: []float64{-1}},
		{Mean: []float64{0}, Std: []float64{1}, Clip: -1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}
