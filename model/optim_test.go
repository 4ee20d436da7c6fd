package model

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// quadratic is f(w) = 1/2 sum a_i (w_i - c_i)^2.
type quadratic struct{ a, c []float64 }

func (q quadratic) grad(w, g []float64) {
	for i := range w {
		g[i] = q.a[i] * (w[i] - q.c[i])
	}
}

func (q quadratic) value(w []float64) float64 {
	s := 0.0
	for i := range w {
		s += q.a[i] * (w[i] - q.c[i]) * (w[i] - q.c[i]) / 2
	}
	return s
}

func TestOptimizersMinimizeQuadratic(t *testing.T) {
	q := quadratic{a: []float64{1, 4, 0.5}, c: []float64{2, -1, 0.5}}
	for _, o := range []OptimizerOptions{
		{Name: "sgd"},
		{Name: "momentum", LearningRate: 0.05},
		{Name: "adam"},
		{Name: "adam", LearningRate: 0.1, Decay: 0.01},
	} {
		opt, err := NewOptimizer(o, 3)
		if err != nil {
			t.Fatal(err)
		}
		w := make([]float64, 3)
		g := make([]float64, 3)
		f0 := q.value(w)
		for step := 0; step < 500; step++ {
			q.grad(w, g)
			if err := opt.Step(w, g); err != nil {
				t.Fatal(err)
			}
		}
		if f := q.value(w); !(f < 1e-3*f0) {
			t.Errorf("%+v: f went from %v to %v (w = %v)", o, f0, f, w)
		}
	}
}

func TestAdamBiasCorrection(t *testing.T) {
	// With bias correction the first steps move each coordinate by about the
	// learning rate, whatever the gradient's scale.
	opt, err := NewOptimizer(OptimizerOptions{Name: "adam", LearningRate: 0.01}, 3)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 3)
	g := []float64{1e-3, -50, 2}
	for step := 1; step <= 3; step++ {
		if err := opt.Step(w, g); err != nil {
			t.Fatal(err)
		}
		for i := range w {
			want := -0.01 * float64(step) * math.Copysign(1, g[i])
			if math.Abs(w[i]-want) > 1e-6 {
				t.Errorf("step %d coordinate %d: w = %v, want %v", step, i, w[i], want)
			}
		}
	}
}

func TestL1ZeroesSmallWeights(t *testing.T) {
	// min 1/2 (w-c)^2 + L1 |w| is the soft threshold of c by L1.
	q := quadratic{a: []float64{1, 1, 1, 1}, c: []float64{0.05, -0.08, 0.5, -1}}
	for _, name := range []string{"sgd", "momentum", "adam"} {
		opt, err := NewOptimizer(OptimizerOptions{Name: name, LearningRate: 0.05, L1: 0.1}, 4)
		if err != nil {
			t.Fatal(err)
		}
		w := []float64{1, 1, 1, 1}
		g := make([]float64, 4)
		for step := 0; step < 3000; step++ {
			q.grad(w, g)
			if err := opt.Step(w, g); err != nil {
				t.Fatal(err)
			}
		}
		if w[0] != 0 || w[1] != 0 {
			t.Errorf("%s: small weights %v, %v, want exactly 0", name, w[0], w[1])
		}
		if math.Abs(w[2]-0.4) > 0.02 || math.Abs(w[3]+0.9) > 0.02 {
			t.Errorf("%s: large weights %v, %v, want about 0.4, -0.9", name, w[2], w[3])
		}
	}
}

func TestUnregularizedAndDecay(t *testing.T) {
	opt, err := NewOptimizer(OptimizerOptions{LearningRate: 0.5, L2: 1, L1: 0.1, Decay: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	opt.SetUnregularized(1)
	opt.SetUnregularized(7) // out of range: ignored
	w := []float64{1, 1}
	zero := []float64{0, 0}
	for step := 0; step < 3; step++ {
		if err := opt.Step(w, zero); err != nil {
			t.Fatal(err)
		}
	}
	if w[1] != 1 {
		t.Errorf("unregularized coordinate moved to %v", w[1])
	}
	// Learning rates 0.5, 0.25, 1/6: w <- w - lr*w, then shrink by lr*0.1.
	want := 1.0
	for _, lr := range []float64{0.5, 0.25, 0.5 / 3} {
		want = want - lr*want - lr*0.1
	}
	if math.Abs(w[0]-want) > 1e-15 {
		t.Errorf("regularized coordinate %v, want %v", w[0], want)
	}
}

// TestOptimizerSplitsByCoordinate checks the property vertical training relies
// on: two parties stepping their own slices match one optimizer over the
// whole vector, bit for bit.
func TestOptimizerSplitsByCoordinate(t *testing.T) {
	q := quadratic{a: []float64{1, 3, 0.2, 2, 1}, c: []float64{1, -2, 3, 0.1, -0.5}}
	for _, name := range []string{"sgd", "momentum", "adam"} {
		o := OptimizerOptions{Name: name, L2: 0.01, L1: 0.01, Decay: 0.001}
		whole, _ := NewOptimizer(o, 5)
		whole.SetUnregularized(4)
		left, _ := NewOptimizer(o, 2)
		right, _ := NewOptimizer(o, 3)
		right.SetUnregularized(2)
		w := make([]float64, 5)
		v := make([]float64, 5)
		g := make([]float64, 5)
		h := make([]float64, 5)
		for step := 0; step < 50; step++ {
			q.grad(w, g)
			q.grad(v, h)
			if err := whole.Step(w, g); err != nil {
				t.Fatal(err)
			}
			if err := left.Step(v[:2], h[:2]); err != nil {
				t.Fatal(err)
			}
			if err := right.Step(v[2:], h[2:]); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(w, v) {
			t.Errorf("%s: whole %v, split %v", name, w, v)
		}
	}
}

func TestOptimizerOptions(t *testing.T) {
	o, err := OptimizerOptions{Name: "adam"}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.LearningRate != 0.05 || o.Beta1 != 0.9 || o.Beta2 != 0.999 || o.Eps != 1e-8 {
		t.Errorf("adam defaults %+v", o)
	}
	o, _ = OptimizerOptions{}.WithDefaults()
	if o.Name != "sgd" || o.LearningRate != 0.1 {
		t.Errorf("zero options: %+v", o)
	}
	o, _ = OptimizerOptions{Name: "momentum"}.WithDefaults()
	if o.Momentum != 0.9 || o.LearningRate != 0.1 {
		t.Errorf("momentum defaults %+v", o)
	}
	for _, bad := range []OptimizerOptions{
		{Name: "rmsprop"},
		{LearningRate: -1},
		{LearningRate: math.NaN()},
		{Name: "momentum", Momentum: 1},
		{Name: "adam", Beta1: 1},
		{Name: "adam", Beta2: -0.1},
		{L2: -1},
		{L1: math.Inf(1)},
		{Decay: -1},
	} {
		if _, err := NewOptimizer(bad, 2); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", bad, err)
		}
	}
	opt, _ := NewOptimizer(OptimizerOptions{}, 2)
	if err := opt.Step(make([]float64, 2), make([]float64, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("length mismatch: %v", err)
	}
}
