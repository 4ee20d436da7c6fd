package vlr

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// synthetic returns standardized-looking columns for both parties and labels
// drawn from a logistic model that uses both.
func synthetic(n, db, dc int, seed uint64) (xb, xc, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	xb, xc, y = make([]float64, n*db), make([]float64, n*dc), make([]float64, n)
	for i := 0; i < n; i++ {
		z := -1.0
		for j := 0; j < db; j++ {
			xb[i*db+j] = r.NormFloat64()
			z += 0.8 * xb[i*db+j] / float64(j+1)
		}
		for j := 0; j < dc; j++ {
			xc[i*dc+j] = r.NormFloat64()
			z -= 0.6 * xc[i*dc+j] / float64(j+1)
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return xb, xc, y
}

// trainPair runs both parties over an in-memory pipe.
func trainPair(t *testing.T, xb, xc, y []float64, db, dc int, opt Options) (bank, center *Result) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	// A deadline against hangs, not a speed test: generous, since the
	// real-data trainings run side by side on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	done := make(chan error, 1)
	go func() {
		var err error
		center, err = TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
		done <- err
	}()
	bank, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return bank, center
}

// TestMatchesReference checks federated training against the centralized
// reference trained the same way: same polynomial sigmoid, same optimizer,
// same batches. Weights agree to 1e-6; the bank's loss trace falls.
func TestMatchesReference(t *testing.T) {
	const db, dc = 3, 4
	n, batch := 3000, 1000
	if testing.Short() { // the race detector's pass
		n, batch = 800, 400
	}
	xb, xc, y := synthetic(n, db, dc, 7)
	cases := []struct {
		name string
		opt  Options
	}{
		{"full batch momentum", Options{Epochs: 8, TrackLoss: true}},
		{"mini-batch nesterov l2", Options{Epochs: 3, BatchSize: batch, Seed: 5, Optimizer: model.OptimizerOptions{Name: "nesterov", L2: 0.01}}},
		{"full batch sgd", Options{Epochs: 8, TrackLoss: true, Optimizer: model.OptimizerOptions{Name: "sgd", LearningRate: 1}}},
		{"mini-batch sgd decay l2", Options{Epochs: 3, BatchSize: batch, Seed: 5, Optimizer: model.OptimizerOptions{Name: "sgd", LearningRate: 1, Decay: 0.5, L2: 0.01}}},
		{"reveal gradients full batch sgd", Options{Epochs: 8, TrackLoss: true, RevealGradients: true}},
		{"reveal gradients mini-batch adam l2", Options{Epochs: 3, BatchSize: batch, Seed: 5, RevealGradients: true, Optimizer: model.OptimizerOptions{Name: "adam", L2: 0.01}}},
	}
	for _, c := range cases {
		if testing.Short() && c.name != "full batch momentum" && c.name != "reveal gradients mini-batch adam l2" {
			continue // the race pass: one case of each protocol
		}
		t.Run(c.name, func(t *testing.T) {
			bank, center := trainPair(t, xb, xc, y, db, dc, c.opt)
			opt, err := c.opt.WithColumns(db + dc + 1)
			require.NoError(t, err)
			sig, err := opt.Sigmoid()
			require.NoError(t, err)
			joined := model.JoinColumns(xb, db, xc, dc)
			w, b, _, err := model.TrainLR(joined, y, db+dc, model.LROptions{
				Epochs: opt.Epochs, BatchSize: opt.BatchSize, Seed: opt.Seed, FixedBatches: true,
				Optimizer: opt.Optimizer, Sigmoid: sig.Eval, Init: InitWeights(bank, center),
			})
			require.NoError(t, err)
			fed := append(append([]float64{}, bank.Weights...), center.Weights...)
			dmax := math.Abs(b - bank.Intercept)
			for j := range w {
				dmax = math.Max(dmax, math.Abs(w[j]-fed[j]))
			}
			t.Logf("largest difference to the plaintext twin: %.2g", dmax)
			require.Less(t, dmax, 1e-6)
			require.Nil(t, center.Loss)
			if c.opt.TrackLoss {
				require.Len(t, bank.Loss, opt.Epochs)
				require.Less(t, bank.Loss[len(bank.Loss)-1], bank.Loss[0])
			}
			t.Logf("bank sent %.1f MiB, center sent %.1f MiB", float64(bank.Stats.SentBytes)/(1<<20), float64(center.Stats.SentBytes)/(1<<20))
		})
	}
}

func TestBadInput(t *testing.T) {
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassive(ctx, tc, seed, Data{X: []float64{1, 2, 3, 4}, Cols: 2})
		done <- err
	}()
	_, err := TrainActive(ctx, ta, seed, Data{X: []float64{1, 2, 3}, Cols: 1, Y: []float64{0, 1, 2}}, Options{}, nil)
	require.ErrorIs(t, err, ErrOptions)
	require.ErrorContains(t, err, "label 2")
	require.ErrorIs(t, <-done, fl.ErrPeerAborted)
}

// TestEarlyStop checks Options.Tol with secret-shared weights: the bank
// stops before the epoch limit after the first epoch whose loss changed by
// less than Tol*max(1, |loss|), the center stops with it, and both end with
// the weights of the plaintext twin trained for as many epochs. The twin's
// own Tol (model.LROptions.Tol) watches another loss, the exact log-loss
// after each epoch, where the bank's is the polynomial surrogate of each
// batch's rows before its update (Result.Loss); so the test replays the
// bank's rule on the twin's surrogate trace and checks the two traces agree
// to the loss's flooding.
func TestEarlyStop(t *testing.T) {
	const n, db, dc, limit, tol = 1000, 3, 4, 30, 1e-3
	xb, xc, y := synthetic(n, db, dc, 11)
	testInitSeed = []byte("early stop") // a fixed start, so that the trace below is fixed too
	defer func() { testInitSeed = nil }()
	opt := Options{Epochs: limit, Tol: tol}
	bank, center := trainPair(t, xb, xc, y, db, dc, opt)

	o, err := opt.WithColumns(db + dc + 1)
	require.NoError(t, err)
	sig, err := o.Sigmoid()
	require.NoError(t, err)
	soft, err := o.Softplus()
	require.NoError(t, err)
	joined := model.JoinColumns(xb, db, xc, dc)
	init := InitWeights(bank, center)
	// twin returns the plaintext weights, then the intercept, after e epochs.
	twin := func(e int) []float64 {
		if e == 0 {
			return init
		}
		w, b, _, err := model.TrainLR(joined, y, db+dc, model.LROptions{
			Epochs: e, FixedBatches: true, Optimizer: o.Optimizer, Sigmoid: sig.Eval, Init: init,
		})
		require.NoError(t, err)
		return append(w, b)
	}
	// surrogate is the bank's loss of a full-batch epoch that starts at w.
	surrogate := func(w []float64) float64 {
		sum := 0.0
		for i := 0; i < n; i++ {
			z := w[db+dc]
			for j, x := range joined[i*(db+dc) : (i+1)*(db+dc)] {
				z += x * w[j]
			}
			sum += soft.Eval(z) - y[i]*z
		}
		return sum / n
	}
	// The loss sum is read from the constant coefficient of its plaintext,
	// Slots times smaller than the sum, flooded with lossSigma (floodSigmas):
	// each epoch's mean loss carries noise of this standard deviation.
	p := sharedParams()
	_, lossSigma := floodSigmas(p, o, n, he.MatrixShape{})
	width := lossSigma * float64(p.Slots()) / p.Scale().Float64() / n
	t.Logf("the loss's flooding: standard deviation %.2g", width)
	var trace []float64
	stop := 0
	for e := 0; e < limit && stop == 0; e++ {
		trace = append(trace, surrogate(twin(e)))
		if e == 0 {
			continue
		}
		change, threshold := math.Abs(trace[e-1]-trace[e]), tol*math.Max(1, math.Abs(trace[e]))
		t.Logf("epoch %d: loss %.6f, change %.3g (threshold %.3g)", e, trace[e], change, threshold)
		// The rule decides the same for any trace within 6 widths of this one.
		require.Greater(t, math.Abs(change-threshold), 12*width, "epoch %d: a change too close to the threshold for the test", e)
		if change < threshold {
			stop = e + 1
		}
	}
	require.NotZero(t, stop, "the twin's trace never meets the tolerance")
	require.Less(t, stop, limit)
	require.Equal(t, stop, bank.Epochs, "the bank stops after the epoch the rule names")
	require.Equal(t, stop, center.Epochs, "the center stops with the bank")
	require.Len(t, bank.Loss, stop)
	lmax := 0.0
	for e, l := range trace {
		require.InDelta(t, l, bank.Loss[e], 6*width, "epoch %d's loss", e)
		lmax = math.Max(lmax, math.Abs(l-bank.Loss[e]))
	}
	t.Logf("largest difference to the twin's losses: %.2g (%.1f standard deviations)", lmax, lmax/width)

	want := twin(stop)
	fed := append(append(append([]float64{}, bank.Weights...), center.Weights...), bank.Intercept)
	require.Len(t, fed, len(want))
	dmax := 0.0
	for j := range want {
		dmax = math.Max(dmax, math.Abs(want[j]-fed[j]))
	}
	t.Logf("stopped after %d of %d epochs; largest difference to the twin's weights: %.2g", stop, limit, dmax)
	require.Less(t, dmax, 1e-6)
}
