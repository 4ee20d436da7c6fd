package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// synthLR draws n rows of d standard normal features and labels from a
// logistic model with weights w and intercept b.
func synthLR(seed uint64, n int, w []float64, b float64) (x, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	d := len(w)
	x = make([]float64, n*d)
	y = make([]float64, n)
	for i := 0; i < n; i++ {
		z := b
		for j := 0; j < d; j++ {
			x[i*d+j] = r.NormFloat64()
			z += w[j] * x[i*d+j]
		}
		if r.Float64() < Logistic(z) {
			y[i] = 1
		}
	}
	return x, y
}

func TestBatchOrder(t *testing.T) {
	full := BatchOrder(5, 0, 1, 0)
	if len(full) != 1 || !slices.Equal(full[0], []int{0, 1, 2, 3, 4}) {
		t.Errorf("full batch: %v", full)
	}
	if got := BatchOrder(5, 9, 1, 3); len(got) != 1 || !slices.Equal(got[0], full[0]) {
		t.Errorf("batch larger than n: %v", got)
	}
	if BatchOrder(0, 2, 1, 0) != nil {
		t.Error("no rows should give no batches")
	}
	b := BatchOrder(10, 4, 42, 0)
	if len(b) != 3 || len(b[0]) != 4 || len(b[1]) != 4 || len(b[2]) != 2 {
		t.Fatalf("batch sizes: %v", b)
	}
	var all []int
	for _, batch := range b {
		all = append(all, batch...)
	}
	slices.Sort(all)
	if !slices.Equal(all, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("batches do not cover each row once: %v", all)
	}
	same := BatchOrder(10, 4, 42, 0)
	other := BatchOrder(10, 4, 42, 1)
	if !slices.EqualFunc(b, same, slices.Equal) {
		t.Error("same seed and epoch gave different batches")
	}
	if slices.EqualFunc(b, other, slices.Equal) {
		t.Error("epochs 0 and 1 gave the same order")
	}
}

func TestTrainLRRecoversCoefficients(t *testing.T) {
	wTrue := []float64{1, -2, 0.5, 0}
	bTrue := -0.5
	x, y := synthLR(1, 20000, wTrue, bTrue)
	for _, tc := range []struct {
		name string
		opt  LROptions
	}{
		{"full batch adam", LROptions{Epochs: 200, Optimizer: OptimizerOptions{Name: "adam", LearningRate: 0.1}}},
		{"full batch sgd", LROptions{Epochs: 300, Optimizer: OptimizerOptions{LearningRate: 2}}},
		{"mini-batch momentum", LROptions{Epochs: 5, BatchSize: 256, Seed: 3, Optimizer: OptimizerOptions{Name: "momentum", LearningRate: 0.05}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, b, hist, err := TrainLR(x, y, 4, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for j := range wTrue {
				if math.Abs(w[j]-wTrue[j]) > 0.1 {
					t.Errorf("w[%d] = %.3f, want about %v", j, w[j], wTrue[j])
				}
			}
			if math.Abs(b-bTrue) > 0.1 {
				t.Errorf("intercept %.3f, want about %v", b, bTrue)
			}
			if hist.Epochs != tc.opt.Epochs || len(hist.Loss) != hist.Epochs {
				t.Errorf("history of %d losses for %d epochs", len(hist.Loss), hist.Epochs)
			}
		})
	}
}

func TestTrainLROptions(t *testing.T) {
	x, y := synthLR(2, 2000, []float64{1, -1}, 0.3)
	// Full-batch gradient descent with a small step lowers the loss every epoch.
	_, _, hist, err := TrainLR(x, y, 2, LROptions{Epochs: 20})
	if err != nil {
		t.Fatal(err)
	}
	for e := 1; e < len(hist.Loss); e++ {
		if !(hist.Loss[e] < hist.Loss[e-1]) {
			t.Errorf("loss rose at epoch %d: %v", e, hist.Loss)
		}
	}
	// Early stopping.
	_, _, hist, err = TrainLR(x, y, 2, LROptions{Epochs: 1000, Tol: 1e-6, Optimizer: OptimizerOptions{Name: "adam"}})
	if err != nil {
		t.Fatal(err)
	}
	if !hist.Converged || hist.Epochs >= 1000 {
		t.Errorf("Tol did not stop training: %d epochs, converged %v", hist.Epochs, hist.Converged)
	}
	// No intercept.
	_, b, _, err := TrainLR(x, y, 2, LROptions{NoIntercept: true})
	if err != nil || b != 0 {
		t.Errorf("NoIntercept: intercept %v, %v", b, err)
	}
	// The intercept escapes L2: a huge penalty flattens the weights only.
	w, b, _, err := TrainLR(x, y, 2, LROptions{Epochs: 200, Optimizer: OptimizerOptions{Name: "adam", L2: 1e3}})
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range y {
		mean += v / float64(len(y))
	}
	if math.Abs(w[0]) > 1e-2 || math.Abs(w[1]) > 1e-2 || math.Abs(b-math.Log(mean/(1-mean))) > 0.02 {
		t.Errorf("strong L2: w %v intercept %v, want w near 0 and the base-rate logit %v", w, b, math.Log(mean/(1-mean)))
	}
	// A polynomial that turns the wrong way outside its interval diverges,
	// and says so.
	xs := slices.Clone(x)
	for i := range xs {
		xs[i] *= 10
	}
	_, _, _, err = TrainLR(xs, y, 2, LROptions{Epochs: 100, Sigmoid: PolySigmoid([]float64{0.5, 0.2, 0, -0.004}), Optimizer: OptimizerOptions{LearningRate: 1}})
	if !errors.Is(err, ErrNotFinite) {
		t.Errorf("diverging sigmoid: %v, want ErrNotFinite", err)
	}
}

func TestTrainLRErrors(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	y := []float64{0, 1}
	for _, tc := range []struct {
		name string
		x, y []float64
		d    int
		opt  LROptions
		want error
	}{
		{"zero columns", x, y, 0, LROptions{}, ErrShape},
		{"ragged", x[:3], y, 2, LROptions{}, ErrShape},
		{"no rows", nil, nil, 2, LROptions{}, ErrShape},
		{"label", x, []float64{0, 2}, 2, LROptions{}, ErrLabels},
		{"NaN", []float64{0, math.NaN(), 2, 3}, y, 2, LROptions{}, ErrNotFinite},
		{"epochs", x, y, 2, LROptions{Epochs: -1}, ErrOptions},
		{"optimizer", x, y, 2, LROptions{Optimizer: OptimizerOptions{Name: "lbfgs"}}, ErrOptions},
	} {
		if _, _, _, err := TrainLR(tc.x, tc.y, tc.d, tc.opt); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestVerticalStepsMatchTrainLR runs the vertical protocol's arithmetic in
// the clear: each party keeps its own columns, weights and optimizer, the
// bank adds the partial scores and the intercept, and each party forms its
// own gradient from the shared residual. It must reach TrainLR's model.
func TestVerticalStepsMatchTrainLR(t *testing.T) {
	wTrue := []float64{0.7, -0.4, 1.1, 0.2, -0.9}
	x, y := synthLR(5, 3000, wTrue, -1)
	n, dB, dC := len(y), 2, 3
	d := dB + dC
	sig := PolySigmoid([]float64{0.5, 0.2, 0, -0.004})
	oo := OptimizerOptions{Name: "adam", L2: 1e-3, L1: 1e-3}
	opt := LROptions{Epochs: 4, BatchSize: 500, Seed: 9, Sigmoid: sig, Optimizer: oo}
	wantW, wantB, _, err := TrainLR(x, y, d, opt)
	if err != nil {
		t.Fatal(err)
	}

	bankOpt, _ := NewOptimizer(oo, dB+1)
	bankOpt.SetUnregularized(dB)
	centerOpt, _ := NewOptimizer(oo, dC)
	wb := make([]float64, dB+1) // bank weights, then the intercept
	wc := make([]float64, dC)
	for e := 0; e < opt.Epochs; e++ {
		for _, batch := range BatchOrder(n, opt.BatchSize, opt.Seed, e) {
			res := make([]float64, len(batch))
			for k, i := range batch {
				u := wb[dB]
				for j := 0; j < dB; j++ {
					u += x[i*d+j] * wb[j]
				}
				for j := 0; j < dC; j++ {
					u += x[i*d+dB+j] * wc[j]
				}
				res[k] = sig(u) - y[i]
			}
			gb := make([]float64, dB+1)
			gc := make([]float64, dC)
			for k, i := range batch {
				for j := 0; j < dB; j++ {
					gb[j] += x[i*d+j] * res[k] / float64(len(batch))
				}
				gb[dB] += res[k] / float64(len(batch))
				for j := 0; j < dC; j++ {
					gc[j] += x[i*d+dB+j] * res[k] / float64(len(batch))
				}
			}
			if err := bankOpt.Step(wb, gb); err != nil {
				t.Fatal(err)
			}
			if err := centerOpt.Step(wc, gc); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := append(slices.Clone(wb[:dB]), wc...)
	for j := range got {
		if math.Abs(got[j]-wantW[j]) > 1e-9 {
			t.Errorf("w[%d]: vertical %v, TrainLR %v", j, got[j], wantW[j])
		}
	}
	if math.Abs(wb[dB]-wantB) > 1e-9 {
		t.Errorf("intercept: vertical %v, TrainLR %v", wb[dB], wantB)
	}
}

func TestJoinStandardized(t *testing.T) {
	bank := []float64{1, 10, 3, 30} // 2 rows x 2
	center := []float64{5, 7}       // 2 rows x 1
	x, sb, sc, err := JoinStandardized(bank, 2, center, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-1, -1, -1, 1, 1, 1}
	if !slices.Equal(x, want) {
		t.Errorf("joined %v, want %v", x, want)
	}
	if !slices.Equal(sb.Mean, []float64{2, 20}) || !slices.Equal(sc.Mean, []float64{6}) {
		t.Errorf("means %v %v", sb.Mean, sc.Mean)
	}
	x, _, _, err = JoinStandardized(bank, 2, nil, 0, 0.5)
	if err != nil || !slices.Equal(x, []float64{-0.5, -0.5, 0.5, 0.5}) {
		t.Errorf("bank only, clipped: %v %v", x, err)
	}
	if _, _, _, err := JoinStandardized(bank, 2, []float64{1, 2, 3}, 1, 0); !errors.Is(err, ErrShape) {
		t.Errorf("row mismatch: %v", err)
	}
	if _, _, _, err := JoinStandardized(bank, 2, center, 1, -1); !errors.Is(err, ErrOptions) {
		t.Errorf("negative clip: %v", err)
	}
}

func TestPolySigmoid(t *testing.T) {
	taylor := PolySigmoid([]float64{0.5, 0.25})
	if taylor(0) != 0.5 || taylor(2) != 1 || taylor(-2) != 0 {
		t.Errorf("Taylor sigmoid: %v %v %v", taylor(0), taylor(2), taylor(-2))
	}
	c := lsSigmoid(t, 5, 8)
	p := PolySigmoid(c)
	for z := -8.0; z <= 8; z += 0.25 {
		if math.Abs(p(z)-Logistic(z)) > 0.055 {
			t.Fatalf("degree-5 fit on [-8, 8] off by %v at %v", p(z)-Logistic(z), z)
		}
	}
}
