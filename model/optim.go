package model

import (
	"fmt"
	"math"
)

// OptimizerOptions selects and tunes an Optimizer. A zero field takes the
// default given beside it.
type OptimizerOptions struct {
	// Name is "sgd" (default), "momentum", "nesterov" or "adam".
	Name string `json:"name"`
	// LearningRate: default 0.1 for sgd, momentum and nesterov, 0.05 for adam.
	LearningRate float64 `json:"learning_rate"`
	// Momentum is the coefficient of "momentum" (heavy ball) and
	// "nesterov", default 0.9.
	Momentum float64 `json:"momentum"`
	// Beta1, Beta2 and Eps tune "adam": defaults 0.9, 0.999 and 1e-8.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	Eps   float64 `json:"eps"`
	// L2 adds L2*w to the gradient, the derivative of (L2/2)||w||^2.
	L2 float64 `json:"l2"`
	// L1 soft-thresholds each weight after the step (proximal gradient for
	// L1*||w||_1; see NewOptimizer), which sets small weights exactly to 0.
	L1 float64 `json:"l1"`
	// Decay sets the learning rate of step t (t = 0 for the first) to
	// LearningRate / (1 + Decay*t). Default 0, a constant rate.
	Decay float64 `json:"decay"`
}

// WithDefaults returns o with its zero fields set to their defaults, or an
// error wrapping ErrOptions when a field is out of range. Two parties that
// must step alike can compare the results.
func (o OptimizerOptions) WithDefaults() (OptimizerOptions, error) {
	if o.Name == "" {
		o.Name = "sgd"
	}
	switch o.Name {
	case "sgd", "momentum", "nesterov":
		if o.LearningRate == 0 {
			o.LearningRate = 0.1
		}
	case "adam":
		if o.LearningRate == 0 {
			o.LearningRate = 0.05
		}
	default:
		return o, fmt.Errorf("%w: optimizer %q, want sgd, momentum, nesterov or adam", ErrOptions, o.Name)
	}
	if (o.Name == "momentum" || o.Name == "nesterov") && o.Momentum == 0 {
		o.Momentum = 0.9
	}
	if o.Name == "adam" {
		if o.Beta1 == 0 {
			o.Beta1 = 0.9
		}
		if o.Beta2 == 0 {
			o.Beta2 = 0.999
		}
		if o.Eps == 0 {
			o.Eps = 1e-8
		}
	}
	for _, f := range []struct {
		name    string
		v       float64
		lo, hi  float64
		openTop bool
	}{
		{"learning rate", o.LearningRate, 0, math.MaxFloat64, false},
		{"momentum", o.Momentum, 0, 1, true},
		{"beta1", o.Beta1, 0, 1, true},
		{"beta2", o.Beta2, 0, 1, true},
		{"eps", o.Eps, 0, math.MaxFloat64, false},
		{"L2", o.L2, 0, math.MaxFloat64, false},
		{"L1", o.L1, 0, math.MaxFloat64, false},
		{"decay", o.Decay, 0, math.MaxFloat64, false},
	} {
		if !(f.v >= f.lo && f.v <= f.hi) || (f.openTop && f.v == f.hi) {
			return o, fmt.Errorf("%w: %s %v out of range", ErrOptions, f.name, f.v)
		}
	}
	if o.LearningRate == 0 {
		return o, fmt.Errorf("%w: learning rate must be positive", ErrOptions)
	}
	return o, nil
}

// Optimizer updates a weight vector from its gradient, one coordinate at a
// time: the rule for coordinate i depends only on w[i], grad[i], the state of
// coordinate i and the step count. So two parties that each hold a slice of
// the weights and step once per batch update their slices exactly as one
// optimizer over the whole vector would.
type Optimizer interface {
	// Step updates w in place from grad; both have the length given at
	// creation. grad is not modified.
	Step(w, grad []float64) error
	// SetUnregularized exempts coordinate i (an intercept) from L2 and L1.
	SetUnregularized(i int)
}

// NewOptimizer returns the optimizer that opt names, for dim weights. Its
// rules, with g = grad + L2*w and lr_t = LearningRate/(1 + Decay*t):
//
//	sgd:      w -= lr_t*g
//	momentum: v = Momentum*v + g;  w -= lr_t*v
//	nesterov: v = Momentum*v + g;  w -= lr_t*(g + Momentum*v)
//	adam:     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//	          w -= lr_t * (m/(1-b1^(t+1))) / (sqrt(v/(1-b2^(t+1))) + eps)
//
// then, if L1 > 0, the proximal step w = sign(w)*max(|w| - eta*L1, 0) with
// the coordinate's effective step size eta: lr_t for sgd, lr_t/(1-Momentum)
// for momentum and nesterov (the step a steady gradient reaches), and
// lr_t/(sqrt(v/(1-b2^(t+1))) + eps) for adam. Scaling the threshold so makes
// the fixed points those of the L1-penalized objective, with small weights
// exactly 0; a threshold of lr_t*L1 would, under momentum or adam, shrink
// far less than L1 asks. State starts at zero.
func NewOptimizer(opt OptimizerOptions, dim int) (Optimizer, error) {
	o, err := opt.WithDefaults()
	if err != nil {
		return nil, err
	}
	if dim < 0 {
		return nil, fmt.Errorf("%w: dimension %d", ErrOptions, dim)
	}
	s := &optimizer{o: o, reg: make([]bool, dim)}
	for i := range s.reg {
		s.reg[i] = true
	}
	switch o.Name {
	case "momentum", "nesterov":
		s.v = make([]float64, dim)
	case "adam":
		s.m = make([]float64, dim)
		s.v = make([]float64, dim)
	}
	return s, nil
}

type optimizer struct {
	o    OptimizerOptions
	t    int // steps taken
	reg  []bool
	m, v []float64
}

func (s *optimizer) SetUnregularized(i int) {
	if i >= 0 && i < len(s.reg) {
		s.reg[i] = false
	}
}

func (s *optimizer) Step(w, grad []float64) error {
	if len(w) != len(s.reg) || len(grad) != len(s.reg) {
		return fmt.Errorf("%w: optimizer for %d weights got %d weights and %d gradients", ErrShape, len(s.reg), len(w), len(grad))
	}
	o := s.o
	lr := o.LearningRate / (1 + o.Decay*float64(s.t))
	var c1, c2 float64
	if o.Name == "adam" {
		c1 = 1 - math.Pow(o.Beta1, float64(s.t+1))
		c2 = 1 - math.Pow(o.Beta2, float64(s.t+1))
	}
	for i, g := range grad {
		if s.reg[i] {
			g += o.L2 * w[i]
		}
		eta := lr // the coordinate's effective step size, for L1
		switch o.Name {
		case "sgd":
			w[i] -= lr * g
		case "momentum":
			s.v[i] = o.Momentum*s.v[i] + g
			w[i] -= lr * s.v[i]
			eta = lr / (1 - o.Momentum)
		case "nesterov":
			s.v[i] = o.Momentum*s.v[i] + g
			w[i] -= lr * (g + o.Momentum*s.v[i])
			eta = lr / (1 - o.Momentum)
		case "adam":
			s.m[i] = o.Beta1*s.m[i] + (1-o.Beta1)*g
			s.v[i] = o.Beta2*s.v[i] + (1-o.Beta2)*g*g
			eta = lr / (math.Sqrt(s.v[i]/c2) + o.Eps)
			w[i] -= eta * (s.m[i] / c1)
		}
		if o.L1 > 0 && s.reg[i] {
			if a := math.Abs(w[i]) - eta*o.L1; a > 0 {
				w[i] = math.Copysign(a, w[i])
			} else {
				w[i] = 0
			}
		}
	}
	s.t++
	return nil
}

// OptimizerState is the state of an optimizer from NewOptimizer: the steps
// taken and the per-coordinate moments (nil where the rule has none). It is
// what a checkpoint saves so that a resumed training steps exactly as an
// uninterrupted one.
type OptimizerState struct {
	Steps int       `json:"steps"`
	M     []float64 `json:"m,omitempty"`
	V     []float64 `json:"v,omitempty"`
}

// SaveOptimizer returns a copy of o's state; o must come from NewOptimizer.
func SaveOptimizer(o Optimizer) (OptimizerState, error) {
	s, ok := o.(*optimizer)
	if !ok {
		return OptimizerState{}, fmt.Errorf("%w: optimizer %T has no saveable state", ErrOptions, o)
	}
	return OptimizerState{Steps: s.t, M: append([]float64(nil), s.m...), V: append([]float64(nil), s.v...)}, nil
}

// RestoreOptimizer sets o's state to st, checking that it fits o's rule and
// dimension.
func RestoreOptimizer(o Optimizer, st OptimizerState) error {
	s, ok := o.(*optimizer)
	if !ok {
		return fmt.Errorf("%w: optimizer %T has no restorable state", ErrOptions, o)
	}
	if st.Steps < 0 || len(st.M) != len(s.m) || len(st.V) != len(s.v) {
		return fmt.Errorf("%w: optimizer state (%d steps, %d and %d moments) does not fit a %s optimizer of %d weights",
			ErrShape, st.Steps, len(st.M), len(st.V), s.o.Name, len(s.reg))
	}
	for _, x := range append(append([]float64(nil), st.M...), st.V...) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: optimizer state holds %v", ErrShape, x)
		}
	}
	s.t = st.Steps
	copy(s.m, st.M)
	copy(s.v, st.V)
	return nil
}
