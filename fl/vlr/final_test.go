package vlr

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// TestFinalRevealFlooding checks the final reveal (sharedState.finish):
// what each party decodes is its weights plus the flooding the package doc
// states, no more and no less. Two trainings from the same start on the same
// data end with the same weights up to CKKS noise some 2^40 times smaller
// than the flooding; the plaintexts the parties decode (their own share plus
// the peer's flooded one) differ between the two by sqrt(2) times the
// flooding's standard deviation in each revealed coefficient, are zero on
// every other coefficient, and decode to the plaintext twin's weights within
// sqrt(Block) times it per weight.
func TestFinalRevealFlooding(t *testing.T) {
	if testing.Short() {
		t.Skip("two trainings; the full suite runs them")
	}
	// Many columns, so that the reveal floods enough coefficients to measure
	// a standard deviation.
	const n, db, dc = 400, 15, 16
	xb, xc, y := synthetic(n, db, dc, 31)
	opt := Options{Epochs: 3}
	o, err := opt.WithColumns(db + dc + 1)
	require.NoError(t, err)
	p := sharedParams()
	shapeBank, shapeCenter := sharedShapes(p, o, n, db, dc)
	// Each party's weights are flooded by the peer, sized for their shape.
	shapes := map[bool]he.MatrixShape{true: shapeBank, false: shapeCenter}
	sigma := map[bool]float64{}
	for active, sh := range shapes {
		sigma[active], _ = floodSigmas(p, o, n, sh)
	}
	testInitSeed = []byte("final reveal") // the same start in both trainings
	defer func() { testInitSeed = nil }()

	type run struct {
		decoded      map[bool]*he.SharedVector // the plaintext each party decodes
		bank, center *Result
	}
	train := func() run {
		r := run{decoded: map[bool]*he.SharedVector{}}
		var (
			mu   sync.Mutex
			errs []error
		)
		finalHook = func(active bool, own, peer *he.SharedVector) {
			sum, err := he.SumShares(own, peer)
			mu.Lock()
			defer mu.Unlock()
			r.decoded[active] = sum
			errs = append(errs, err)
		}
		defer func() { finalHook = nil }()
		r.bank, r.center = trainPair(t, xb, xc, y, db, dc, opt)
		require.NoError(t, errors.Join(errs...))
		require.Len(t, r.decoded, 2, "both parties revealed")
		return r
	}
	r1, r2 := train(), train()
	init := InitWeights(r1.bank, r1.center)
	require.Equal(t, init, InitWeights(r2.bank, r2.center))

	// The flooding is there, at its width, and on the weights' coefficients
	// only.
	var z []float64 // differences between the runs, in standard deviations
	for active, sh := range shapes {
		gap := p.N() / (2 * sh.Block)
		diff := r1.decoded[active].Clone()
		require.NoError(t, diff.Sub(r2.decoded[active]))
		c, d := make([]float64, p.N()), make([]float64, p.N())
		for i, s := range r1.decoded[active].Shares {
			s.Float64s(c)
			diff.Shares[i].Float64s(d)
			for j := range c {
				if j%gap != 0 {
					require.Zero(t, c[j], "party %v: coefficient %d of ciphertext %d is outside the weights' subring", active, j, i)
					continue
				}
				z = append(z, d[j]/(math.Sqrt2*sigma[active]))
			}
		}
	}
	rms := 0.0
	for _, v := range z {
		rms += v * v
	}
	rms = math.Sqrt(rms / float64(len(z)))
	t.Logf("flooding: sigma 2^%.1f (bank's weights), 2^%.1f (center's) at scale 2^%.0f; the runs' revealed coefficients differ by %.2f times sqrt(2) sigma (RMS over %d)",
		math.Log2(sigma[true]), math.Log2(sigma[false]), math.Log2(p.Scale().Float64()), rms, len(z))
	require.GreaterOrEqual(t, len(z), 40)
	require.InDelta(t, 1, rms, 0.45, "the runs' decodings differ by the flooding's width")

	// The decoded weights are the twin's, within the flooding.
	sig, err := o.Sigmoid()
	require.NoError(t, err)
	w, b, _, err := model.TrainLR(model.JoinColumns(xb, db, xc, dc), y, db+dc, model.LROptions{
		Epochs: o.Epochs, FixedBatches: true, Optimizer: o.Optimizer, Sigmoid: sig.Eval, Init: init,
	})
	require.NoError(t, err)
	width := func(active bool) float64 {
		return math.Sqrt(float64(shapes[active].Block)) * sigma[active] / p.Scale().Float64()
	}
	var e []float64 // errors, in widths
	for _, r := range []run{r1, r2} {
		for j := 0; j < db; j++ {
			e = append(e, (r.bank.Weights[j]-w[j])/width(true))
		}
		e = append(e, (r.bank.Intercept-b)/width(true))
		for j := 0; j < dc; j++ {
			e = append(e, (r.center.Weights[j]-w[db+j])/width(false))
		}
	}
	rms, emax := 0.0, 0.0
	for _, v := range e {
		rms += v * v
		emax = math.Max(emax, math.Abs(v))
	}
	rms = math.Sqrt(rms / float64(len(e)))
	t.Logf("decoded weights: flooding of standard deviation %.2g (bank) and %.2g (center); errors to the twin %.2f of it (RMS over %d), at most %.2f",
		width(true), width(false), rms, len(e), emax)
	require.Less(t, emax, 6.0)
	require.InDelta(t, 1, rms, 0.45)
}
