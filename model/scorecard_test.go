package model

import (
	"errors"
	"math"
	"testing"
)

func TestScorecardPoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Scorecard
		p    float64
		want float64
	}{
		{"defaults at 1:1", Scorecard{}, 0.5, 500},
		{"defaults odds 2:1", Scorecard{}, 1.0 / 3, 520},
		{"defaults odds 4:1", Scorecard{}, 0.2, 540},
		{"defaults odds 1:2", Scorecard{}, 2.0 / 3, 480},
		{"600 at 19:1", Scorecard{BasePoints: 600, PDO: 50, BaseOdds: 19}, 1.0 / 20, 600},
		{"650 at 38:1", Scorecard{BasePoints: 600, PDO: 50, BaseOdds: 19}, 1.0 / 39, 650},
		{"explicit FATE defaults", Scorecard{BasePoints: 500, PDO: 20, BaseOdds: 1}, 0.2, 540},
	} {
		if got := tc.s.Points(tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Points(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	var s Scorecard
	if !math.IsInf(s.Points(0), 1) || !math.IsInf(s.Points(1), -1) {
		t.Errorf("Points(0), Points(1) = %v, %v, want +Inf, -Inf", s.Points(0), s.Points(1))
	}
}

func TestScorecardLogitAndLinear(t *testing.T) {
	s := Scorecard{BasePoints: 600, PDO: 40, BaseOdds: 10}
	for _, z := range []float64{-6, -1.5, 0, 0.3, 4} {
		if a, b := s.PointsFromLogit(z), s.Points(Logistic(z)); math.Abs(a-b) > 1e-9 {
			t.Errorf("z=%v: PointsFromLogit %v, Points(Logistic) %v", z, a, b)
		}
	}
	w := []float64{0.8, -1.2, 0.1}
	x := []float64{1.5, 0.5, -2}
	b := -1.3
	total, per, err := s.LinearPoints(b, w, x)
	if err != nil {
		t.Fatal(err)
	}
	z := b + w[0]*x[0] + w[1]*x[1] + w[2]*x[2]
	if want := s.PointsFromLogit(z); math.Abs(total-want) > 1e-9 {
		t.Errorf("total %v, want %v", total, want)
	}
	base := total
	for j := range per {
		base -= per[j]
		// A riskier value (w*x > 0 raises the logit of default) costs points.
		if (w[j]*x[j] > 0) != (per[j] < 0) {
			t.Errorf("feature %d: w*x = %v but %v points", j, w[j]*x[j], per[j])
		}
	}
	if want := s.PointsFromLogit(b); math.Abs(base-want) > 1e-9 {
		t.Errorf("base term %v, want the intercept's points %v", base, want)
	}
	// An applicant at every training mean (standardized x = 0) gets only the
	// base term.
	_, per, _ = s.LinearPoints(b, w, make([]float64, 3))
	for j, p := range per {
		if p != 0 {
			t.Errorf("feature %d at its mean: %v points, want 0", j, p)
		}
	}
	if _, _, err := s.LinearPoints(b, w, x[:2]); !errors.Is(err, ErrShape) {
		t.Errorf("length mismatch: %v, want ErrShape", err)
	}
}
