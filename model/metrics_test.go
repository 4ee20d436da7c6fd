package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUCKnownValues(t *testing.T) {
	for _, tc := range []struct {
		name           string
		scores, labels []float64
		auc, ks        float64
	}{
		// scikit-learn's roc_auc_score example: 3 of 4 pairs ordered.
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75, 0.5},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []float64{0, 0, 1, 1}, 1, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []float64{0, 0, 1, 1}, 0, 1},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []float64{0, 1, 0, 1}, 0.5, 0},
		// Pairs (pos, neg): (2,1)=1 (2,2)=1/2 (3,1)=1 (3,2)=1.
		{"tie across classes", []float64{1, 2, 2, 3}, []float64{0, 0, 1, 1}, 0.875, 0.5},
		// Pos {5,5,1}, neg {5,1}: (5,5)=1/2 (5,1)=1 twice, (1,5)=0 (1,1)=1/2.
		{"two tied runs", []float64{5, 5, 1, 5, 1}, []float64{1, 1, 1, 0, 0}, (0.5 + 1 + 0.5 + 1 + 0 + 0.5) / 6, 1.0 / 6},
		{"infinities", []float64{math.Inf(-1), 0, math.Inf(1)}, []float64{0, 1, 1}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auc, err := AUC(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(auc-tc.auc) > 1e-12 {
				t.Errorf("AUC = %v, want %v", auc, tc.auc)
			}
			ks, err := KS(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ks-tc.ks) > 1e-12 {
				t.Errorf("KS = %v, want %v", ks, tc.ks)
			}
		})
	}
}

// TestAUCMatchesPairCount checks the rank formula against counting all
// positive-negative pairs, on data with many ties.
func TestAUCMatchesPairCount(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 20; trial++ {
		n := 2 + r.IntN(300)
		s := make([]float64, n)
		y := make([]float64, n)
		for i := range s {
			s[i] = float64(r.IntN(12)) // few distinct values: many ties
			if r.Float64() < 0.3+0.03*s[i] {
				y[i] = 1
			}
		}
		y[0], y[1] = 0, 1
		num, pairs := 0.0, 0.0
		for i := range s {
			for j := range s {
				if y[i] == 1 && y[j] == 0 {
					pairs++
					switch {
					case s[i] > s[j]:
						num++
					case s[i] == s[j]:
						num += 0.5
					}
				}
			}
		}
		auc, err := AUC(s, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(auc-num/pairs) > 1e-12 {
			t.Fatalf("trial %d: AUC %v, pair count %v", trial, auc, num/pairs)
		}
		// KS from the ROC points against a direct scan over thresholds.
		ks, _ := KS(s, y)
		want := 0.0
		for thr := -1.0; thr < 12; thr++ {
			tp, fp, p, q := 0.0, 0.0, 0.0, 0.0
			for i := range s {
				if y[i] == 1 {
					p++
					if s[i] > thr {
						tp++
					}
				} else {
					q++
					if s[i] > thr {
						fp++
					}
				}
			}
			want = max(want, math.Abs(tp/p-fp/q))
		}
		if math.Abs(ks-want) > 1e-12 {
			t.Fatalf("trial %d: KS %v, scan %v", trial, ks, want)
		}
	}
}

func TestROCPoints(t *testing.T) {
	pts, err := ROC([]float64{1, 2, 2, 3}, []float64{0, 0, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []ROCPoint{{0, 0, math.Inf(1)}, {0, 0.5, 3}, {0.5, 1, 2}, {1, 1, 1}}
	if len(pts) != len(want) {
		t.Fatalf("got %v, want %v", pts, want)
	}
	for i := range want {
		if pts[i] != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, pts[i], want[i])
		}
	}
}

func TestLift(t *testing.T) {
	// Scores 10..1, labels in score order: 4 positives of 10, base rate 0.4.
	s := []float64{3, 10, 8, 1, 9, 6, 7, 2, 5, 4}
	y := []float64{0, 1, 0, 0, 1, 0, 1, 0, 1, 0}
	// In score order: 10:1 9:1 | 8:0 7:1 | 6:0 5:1 | 4:0 3:0 | 2:0 1:0
	got, err := Lift(s, y, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []LiftBucket{
		{1, 2, 2, 1, 2.5, 0.5, 9, 10},
		{2, 2, 1, 0.5, 1.25, 0.75, 7, 8},
		{3, 2, 1, 0.5, 1.25, 1, 5, 6},
		{4, 2, 0, 0, 0, 1, 3, 4},
		{5, 2, 0, 0, 0, 1, 1, 2},
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Bucket != w.Bucket || g.Count != w.Count || g.Positives != w.Positives || g.MinScore != w.MinScore || g.MaxScore != w.MaxScore ||
			math.Abs(g.Rate-w.Rate) > 1e-12 || math.Abs(g.Lift-w.Lift) > 1e-12 || math.Abs(g.CumulativeCapture-w.CumulativeCapture) > 1e-12 {
			t.Errorf("bucket %d = %+v, want %+v", i+1, g, w)
		}
	}
	// Deciles by default; uneven sizes differ by at most one.
	dec, err := Lift(s, y, 0)
	if err != nil || len(dec) != 10 {
		t.Fatalf("default buckets: %d, %v", len(dec), err)
	}
	uneven, err := Lift(s[:7], y[:7], 3)
	if err != nil {
		t.Fatal(err)
	}
	if c := []int{uneven[0].Count, uneven[1].Count, uneven[2].Count}; c[0] != 2 || c[1] != 2 || c[2] != 3 {
		t.Errorf("bucket sizes %v, want [2 2 3]", c)
	}
	if _, err := Lift(s, y, 11); !errors.Is(err, ErrShape) {
		t.Errorf("11 buckets of 10 rows: %v, want ErrShape", err)
	}
}

func TestMetricErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		scores, labels []float64
		want           error
	}{
		{"length", []float64{1, 2}, []float64{0, 1, 1}, ErrShape},
		{"label 2", []float64{1, 2}, []float64{0, 2}, ErrLabels},
		{"label -1", []float64{1, 2}, []float64{-1, 1}, ErrLabels},
		{"NaN label", []float64{1, 2}, []float64{math.NaN(), 1}, ErrLabels},
		{"one class", []float64{1, 2}, []float64{1, 1}, ErrLabels},
		{"empty", nil, nil, ErrLabels},
		{"NaN score", []float64{1, math.NaN()}, []float64{0, 1}, ErrNotFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err1 := AUC(tc.scores, tc.labels)
			_, err2 := KS(tc.scores, tc.labels)
			_, err3 := ROC(tc.scores, tc.labels)
			_, err4 := Lift(tc.scores, tc.labels, 1)
			for i, err := range []error{err1, err2, err3, err4} {
				if !errors.Is(err, tc.want) {
					t.Errorf("metric %d: %v, want %v", i, err, tc.want)
				}
			}
		})
	}
}

func BenchmarkAUC(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	n := 100000
	s := make([]float64, n)
	y := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()
		y[i] = float64(r.IntN(2))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := AUC(s, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/row")
}
