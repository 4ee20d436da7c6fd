package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
)

// LROptions configures TrainLR. A zero field takes the default beside it.
type LROptions struct {
	// Epochs is the number of passes over the rows, default 30.
	Epochs int
	// BatchSize is the rows per optimizer step; 0 (or >= n) means one full
	// batch per epoch. See BatchOrder.
	BatchSize int
	// Optimizer is the update rule; its L2 and L1 apply to the weights but
	// not to the intercept.
	Optimizer OptimizerOptions
	// Sigmoid maps the logit to the probability used in the gradient; nil
	// means the exact logistic function. Federated training passes the
	// polynomial it evaluates under encryption (see PolySigmoid).
	Sigmoid func(z float64) float64
	// Tol stops training after the first epoch whose loss changed by less
	// than Tol*max(1, |loss|) from the previous epoch's; 0 never stops early.
	Tol float64
	// Seed fixes the mini-batch order (BatchOrder).
	Seed uint64
	// FixedBatches draws the batches once (BatchOrder of epoch 0) and reuses
	// them every epoch, as federated training does: its parties prepare
	// each batch's encrypted-product plaintexts once.
	FixedBatches bool
	// NoIntercept fits no intercept (it stays 0).
	NoIntercept bool
	// Init, when set, holds the starting weights then the intercept (d+1
	// values, or d with NoIntercept); nil starts from zero. Federated
	// training starts from secret random weights, which its parties can
	// reveal to a plaintext twin (vlr.Result.Init).
	Init []float64
}

// History records a training run.
type History struct {
	// Loss[e] is the objective after epoch e: mean log-loss over all rows
	// with the exact logistic function, plus (L2/2)||w||^2 + L1||w||_1.
	Loss []float64
	// Epochs is the number of epochs run.
	Epochs int
	// Converged reports that training stopped early on Tol.
	Converged bool
}

// PolySigmoid returns the polynomial z -> sum_k coeffs[k] z^k (lowest degree
// first) as a sigmoid for LROptions. FATE's first-order Taylor expansion of
// the logistic function is PolySigmoid([]float64{0.5, 0.25}).
func PolySigmoid(coeffs []float64) func(z float64) float64 {
	c := append([]float64(nil), coeffs...)
	return func(z float64) float64 {
		s := 0.0
		for k := len(c) - 1; k >= 0; k-- {
			s = s*z + c[k]
		}
		return s
	}
}

// BatchOrder returns the row batches of epoch (0-based) for n rows. With
// batchSize <= 0 or >= n it is one batch of all rows in order. Otherwise the
// rows are permuted by math/rand/v2's Perm over PCG(seed, epoch) and cut into
// consecutive batches of batchSize, the last one holding the remainder. The
// federated trainer takes its batches from here, so that both parties and the
// plaintext reference visit rows alike.
func BatchOrder(n, batchSize int, seed uint64, epoch int) [][]int {
	if n <= 0 {
		return nil
	}
	if batchSize <= 0 || batchSize >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	perm := rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
	out := make([][]int, 0, (n+batchSize-1)/batchSize)
	for lo := 0; lo < n; lo += batchSize {
		out = append(out, perm[lo:min(lo+batchSize, n)])
	}
	return out
}

// TrainLR trains a logistic regression on x, row-major n x d, already
// standardized and free of NaN, with labels y in {0, 1}. It runs exactly the
// algorithm of vertical federated LR, so the two can be compared number for
// number. Starting from zero weights and intercept (or Init), for each epoch and each
// batch B of BatchOrder:
//
//	z_i = intercept + x_i·w,  p_i = Sigmoid(z_i),  d_i = p_i - y_i
//	grad_w = X_B^T d / |B|,  grad_b = sum(d) / |B|
//
// then one optimizer step on [w, intercept], the intercept last and
// unregularized. After each epoch the loss (History.Loss) is taken with the
// exact logistic function, and Tol may stop training.
//
// With L2 = 1/(C*n) and enough epochs the optimum is scikit-learn's
// LogisticRegression(C=C), which minimises (1/2)||w||^2 + C*sum(log-loss).
func TrainLR(x, y []float64, d int, opt LROptions) (weights []float64, intercept float64, hist History, err error) {
	if d <= 0 {
		return nil, 0, hist, fmt.Errorf("%w: %d columns", ErrShape, d)
	}
	n := len(y)
	if n == 0 || len(x) != n*d {
		return nil, 0, hist, fmt.Errorf("%w: %d values for %d labels of %d columns", ErrShape, len(x), n, d)
	}
	for i, v := range y {
		if v != 0 && v != 1 {
			return nil, 0, hist, fmt.Errorf("%w: y[%d] = %v, want 0 or 1", ErrLabels, i, v)
		}
	}
	for i, v := range x {
		if !finite(v) {
			return nil, 0, hist, fmt.Errorf("%w: row %d column %d is %v (standardize and impute first)", ErrNotFinite, i/d, i%d, v)
		}
	}
	if opt.Epochs < 0 || opt.BatchSize < 0 || opt.Tol < 0 || math.IsNaN(opt.Tol) {
		return nil, 0, hist, fmt.Errorf("%w: epochs %d, batch size %d, tol %v", ErrOptions, opt.Epochs, opt.BatchSize, opt.Tol)
	}
	epochs := opt.Epochs
	if epochs == 0 {
		epochs = 30
	}
	sigmoid := opt.Sigmoid
	if sigmoid == nil {
		sigmoid = Logistic
	}
	oo, err := opt.Optimizer.WithDefaults()
	if err != nil {
		return nil, 0, hist, err
	}
	dim := d
	if !opt.NoIntercept {
		dim++
	}
	o, err := NewOptimizer(oo, dim)
	if err != nil {
		return nil, 0, hist, err
	}
	if !opt.NoIntercept {
		o.SetUnregularized(d)
	}

	wb := make([]float64, dim) // weights, then the intercept
	if opt.Init != nil {
		if len(opt.Init) != dim {
			return nil, 0, hist, fmt.Errorf("%w: %d initial weights for %d", ErrShape, len(opt.Init), dim)
		}
		copy(wb, opt.Init)
	}
	grad := make([]float64, dim)
	w := wb[:d]
	bias := func() float64 {
		if opt.NoIntercept {
			return 0
		}
		return wb[d]
	}
	prev := math.NaN()
	for e := 0; e < epochs; e++ {
		be := e
		if opt.FixedBatches {
			be = 0
		}
		for _, batch := range BatchOrder(n, opt.BatchSize, opt.Seed, be) {
			clear(grad)
			b := bias()
			for _, i := range batch {
				xi := x[i*d : (i+1)*d]
				di := sigmoid(b+floats.Dot(xi, w)) - y[i]
				floats.AddScaled(grad[:d], di, xi)
				if !opt.NoIntercept {
					grad[d] += di
				}
			}
			floats.Scale(1/float64(len(batch)), grad)
			if err := o.Step(wb, grad); err != nil {
				return nil, 0, hist, err
			}
		}
		loss := objective(x, y, w, bias(), oo)
		hist.Loss = append(hist.Loss, loss)
		hist.Epochs = e + 1
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, 0, hist, fmt.Errorf("%w: loss %v after epoch %d: lower the learning rate, or use a sigmoid that stays in [0, 1] on the scores", ErrNotFinite, loss, e)
		}
		if opt.Tol > 0 && e > 0 && math.Abs(prev-loss) < opt.Tol*max(1, math.Abs(loss)) {
			hist.Converged = true
			break
		}
		prev = loss
	}
	return append([]float64(nil), w...), bias(), hist, nil
}

// objective is the mean log-loss with the exact logistic function plus the
// regularization of oo.
func objective(x, y, w []float64, b float64, oo OptimizerOptions) float64 {
	d := len(w)
	n := len(y)
	sum := 0.0
	for i := 0; i < n; i++ {
		z := b + floats.Dot(x[i*d:(i+1)*d], w)
		// log(1+e^z) - y*z, stable for large |z|
		sum += max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y[i]*z
	}
	loss := sum / float64(n)
	if oo.L2 > 0 {
		loss += oo.L2 / 2 * floats.Dot(w, w)
	}
	if oo.L1 > 0 {
		loss += oo.L1 * floats.Norm(w, 1)
	}
	return loss
}

// JoinStandardized prepares the input of TrainLR from both parties' raw
// columns the way the parties will: each fits its own Standardizer on its own
// columns (bank row-major n x dBank, center n x dCenter, NaN for missing),
// sets its Clip to clip (0: none) and standardizes them; the result is
// row-major n x (dBank+dCenter), the bank's columns first. A party with no
// columns passes d = 0 and an empty slice.
func JoinStandardized(bank []float64, dBank int, center []float64, dCenter int, clip float64) (x []float64, bankStd, centerStd Standardizer, err error) {
	if !(clip >= 0) || math.IsInf(clip, 0) {
		return nil, bankStd, centerStd, fmt.Errorf("%w: clip %v, want finite and >= 0", ErrOptions, clip)
	}
	if dBank < 0 || dCenter < 0 || dBank+dCenter == 0 {
		return nil, bankStd, centerStd, fmt.Errorf("%w: %d bank and %d center columns", ErrShape, dBank, dCenter)
	}
	rows := func(v []float64, d int) int {
		if d == 0 {
			return -1
		}
		if len(v)%d != 0 {
			return -2
		}
		return len(v) / d
	}
	nb, nc := rows(bank, dBank), rows(center, dCenter)
	if nb == -2 || nc == -2 || (nb >= 0 && nc >= 0 && nb != nc) || (dBank == 0 && len(bank) != 0) || (dCenter == 0 && len(center) != 0) {
		return nil, bankStd, centerStd, fmt.Errorf("%w: bank %d values of %d columns, center %d values of %d columns", ErrShape, len(bank), dBank, len(center), dCenter)
	}
	n := max(nb, nc)
	d := dBank + dCenter
	x = make([]float64, n*d)
	part := func(v []float64, dv, off int) (Standardizer, error) {
		if dv == 0 {
			return Standardizer{}, nil
		}
		s, err := FitStandardizer(v, dv)
		if err != nil {
			return s, err
		}
		s.Clip = clip
		t := make([]float64, len(v))
		if err := s.Transform(v, t); err != nil {
			return s, err
		}
		for i := 0; i < n; i++ {
			copy(x[i*d+off:i*d+off+dv], t[i*dv:(i+1)*dv])
		}
		return s, nil
	}
	if bankStd, err = part(bank, dBank, 0); err != nil {
		return nil, bankStd, centerStd, fmt.Errorf("bank columns: %w", err)
	}
	if centerStd, err = part(center, dCenter, dBank); err != nil {
		return nil, bankStd, centerStd, fmt.Errorf("center columns: %w", err)
	}
	return x, bankStd, centerStd, nil
}
