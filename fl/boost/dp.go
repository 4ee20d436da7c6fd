package boost

import (
	crand "crypto/rand"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/veil-fl/veil/model"
)

// DP are the privacy parameters of differentially private histograms: the
// whole training is (Epsilon, Delta)-differentially private for the center's
// feature values, with respect to changing all the center's values of one
// row.
//
// The mechanism is Gaussian. The center adds independent noise N(0,
// sigma^2) to every released cumulative sum of g and N(0, (sigma/4)^2) to
// every sum of h, under encryption, before its decryption share, so the bank
// never sees a sum without it. One row's center values move it between the
// bins of each of the F features (or to or from missing), which changes at
// most K of the feature's cumulative sums by its g (|g| <= 1) and its h
// (<= 1/4): an L2 sensitivity of sqrt(2 F K) for the sums of g and 4h. A row
// falls in at most one computed node per level (a sibling's histograms are
// its parent's minus the computed node's: no new release), so a training of
// T trees of depth D is the composition of T*D Gaussian mechanisms, each
// (Delta_2)^2 / (2 sigma^2)-zCDP, in all rho = T D F K / sigma^2; rho-zCDP
// implies (rho + 2 sqrt(rho ln(1/delta)), delta)-DP (Bun and Steinke,
// "Concentrated differential privacy", TCC 2016, proposition 1.3), which
// gives sigma for the asked epsilon and delta (Sigma).
//
// The bank scales g and h by a power of two fixed by the row count alone
// (dpScale), so that the center, which does not learn the bank's sums,
// knows the scale of its noise. The noise is drawn in float64 from a
// ChaCha8 stream seeded by crypto/rand and rounded to the fixed point of
// the encoding (2^-40 of a value's scale).
type DP struct {
	Epsilon float64 `json:"epsilon"`
	Delta   float64 `json:"delta"`
}

func (d DP) check() error {
	if !(d.Epsilon > 0) || math.IsInf(d.Epsilon, 0) {
		return fmt.Errorf("%w: DP epsilon %v, want finite and > 0", model.ErrOptions, d.Epsilon)
	}
	if !(d.Delta > 0 && d.Delta < 1) {
		return fmt.Errorf("%w: DP delta %v, want in (0, 1)", model.ErrOptions, d.Delta)
	}
	return nil
}

// Sigma returns the standard deviation of the noise on the sums of g for a
// training with options o (defaults applied) over centerCols features of at
// most K bins each; the sums of h get a quarter of it.
func (d DP) Sigma(o model.GBDTOptions, centerCols, K int) float64 {
	l := math.Log(1 / d.Delta)
	rho := math.Pow(math.Sqrt(l+d.Epsilon)-math.Sqrt(l), 2)
	return math.Sqrt(float64(o.Trees*o.MaxDepth*centerCols*K) / rho)
}

// dpScale is the power of two the bank scales g and h by when the
// histograms are differentially private: every sum of a level is at most
// the row count, and its noise below 16 sigma, so the scale fills the
// decryption headroom whatever the gradients.
func dpScale(rows int, sigma float64) float64 {
	return math.Exp2(math.Floor(histHeadroom - math.Log2(float64(max(rows, 1))+16*sigma)))
}

// dpNoise draws the center's noise for one level's histograms.
type dpNoise struct {
	sigma float64 // of the sums of g, in the bank's scaled units
	r     *rand.Rand
}

func newDPNoise(d *DP, o model.GBDTOptions, centerCols, K, rows int) (*dpNoise, error) {
	if d == nil {
		return nil, nil
	}
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("boost: DP noise randomness: %w", err)
	}
	sigma := d.Sigma(o, centerCols, K)
	return &dpNoise{sigma: sigma * dpScale(rows, sigma), r: rand.New(rand.NewChaCha8(seed))}, nil
}

// draw returns n values of noise of standard deviation sigma*factor.
func (z *dpNoise) draw(n int, factor float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = z.r.NormFloat64() * z.sigma * factor
	}
	return out
}
