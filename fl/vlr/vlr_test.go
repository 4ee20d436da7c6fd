package vlr

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
// same batches. Weights agree to 1e-5, losses to 1e-4.
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
		{"reveal gradients full batch sgd", Options{Epochs: 8, TrackLoss: true, RevealGradients: true}},
		{"reveal gradients mini-batch adam l2", Options{Epochs: 3, BatchSize: batch, Seed: 5, RevealGradients: true, Optimizer: model.OptimizerOptions{Name: "adam", L2: 0.01}}},
	}
	for _, c := range cases {
		if testing.Short() && (c.name == "mini-batch nesterov l2" || c.name == "reveal gradients full batch sgd") {
			continue // the race pass: one case of each protocol
		}
		t.Run(c.name, func(t *testing.T) {
			bank, center := trainPair(t, xb, xc, y, db, dc, c.opt)
			opt, err := c.opt.WithDefaults()
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
