package vlr

import (
	"fmt"
	"math"
	"sync"

	"github.com/veil-fl/veil/he"
)

// The limits a secret-shared training's privacy argument needs, and the
// range of scores within which it holds.
//
// Every opening (steps 3 and 5 of the package doc) hides each coefficient c
// of its plaintext with a uniform mask of b bits (the package doc's masks:
// b = he.Params.ShareCapacity at Shared15's share level) at statistical
// distance |c|/2^b; for coefficients below 2^v, a union bound over the C
// masked coefficients a training opens gives C 2^(v-b) in all. The guard
// asks for C 2^(v+1-b) <= 2^-40 (a factor 2 to spare, as he.ShareMaskBits
// does): the masks hide the whole training at 2^-40 while every opened
// coefficient stays below 2^v, v = b - 41 - log2(C). The inputs are
// enforced (features within he.MaxFeature, rows within Shared15's MaxRows,
// the sigmoid interval within 64), and with them the opened values are
// bounded by the scores alone: a score z is at most |z| * 2^LogScale in the
// coefficient domain, and a batch's unfolded gradient at most 2^LogScale
// (|B| MaxFeature (|p(z)| + 1) + L2 |B| |w|), |p(z)| <= sum_k |c_k| |z|^k
// for the sigmoid polynomial p.
// ScoreGuard is the largest G such that |z| <= G and |w| <= G keep both
// below 2^v for the training's batches and C: the guarantee holds for any
// training whose scores and weights stay within G, and a training whose
// options or size leave G inside the sigmoid interval is refused. Nothing
// keeps a running training within G: the package doc says when one may
// pass it and what its openings then reveal.

// ScoreGuard returns the range of scores and weights within which the masks
// of a secret-shared training with options o (defaults applied) on rows
// rows hide every opened value at statistical distance 2^-40 in all (see
// the comment above), or an error naming the limit a training of this size
// would pass.
func ScoreGuard(o Options, rows, bankCols, centerCols int) (float64, error) {
	p := sharedParams()
	return scoreGuard(o, rows, bankCols, centerCols, p.ShareCapacity(p.Set().DecryptLevel))
}

// scoreGuard is ScoreGuard for masks of maskBits bits.
func scoreGuard(o Options, rows, bankCols, centerCols int, maskBits float64) (float64, error) {
	set := he.Shared15
	if rows > set.MaxRows {
		return 0, fmt.Errorf("%w: %w: %d rows, over the %d the noise bound of he.%s holds for", ErrOptions, he.ErrLimit, rows, set.MaxRows, set.ID)
	}
	p := sharedParams()
	sig, err := o.Sigmoid()
	if err != nil {
		return 0, err
	}
	bs := batches(rows, o)
	batch := len(bs[0])
	shapeBank, shapeCenter := sharedShapes(p, o, rows, bankCols, centerCols)
	slots := p.Slots()
	cts := 0
	for _, b := range bs {
		cts += (len(b)+slots-1)/slots + shapeBank.Blocks + shapeCenter.Blocks
	}
	coeffs := float64(o.Epochs) * float64(cts) * float64(p.N())
	room := maskBits - 1 - he.StatisticalSecurity - math.Log2(coeffs) - set.LogScale
	fits := func(g float64) bool {
		pz := 0.0
		for k, c := range sig.Coeffs {
			pz += math.Abs(c) * math.Pow(g, float64(k))
		}
		grad := float64(batch) * (he.MaxFeature*(pz+1) + o.Optimizer.L2*g)
		return math.Log2(g) <= room && math.Log2(grad) <= room
	}
	lo, hi := 0.0, math.Exp2(room)
	if !fits(o.Bound) {
		return 0, fmt.Errorf("%w: %w: %d epochs of %d batches of up to %d rows open 2^%.1f masked coefficients; their %g-bit masks then hide scores only within %.3g, inside the sigmoid interval [-%g, %g]: train fewer epochs or rows",
			ErrOptions, he.ErrLimit, o.Epochs, len(bs), batch, math.Log2(coeffs), maskBits, guardBisect(fits, lo, hi), o.Bound, o.Bound)
	}
	return guardBisect(fits, o.Bound, hi), nil
}

// guardBisect returns, to 1e-3 relative, the largest g in [lo, hi] with
// fits(g), fits(lo) assumed (fits is monotone).
func guardBisect(fits func(float64) bool, lo, hi float64) float64 {
	for hi-lo > 1e-3*math.Max(lo, 1e-9) {
		mid := lo + (hi-lo)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Params returns the HE parameter set a training with options o runs:
// he.Shared15 for the secret-shared protocol, he.Linear14 with
// RevealGradients. A session's handshake names it, so that both parties
// compare it before any key is made.
func Params(o Options) he.Params {
	if o.RevealGradients {
		return revealParams()
	}
	return sharedParams()
}

// sharedParams are Shared15's parameters, revealParams Linear14's, each
// built once.
var (
	sharedParams = sync.OnceValue(func() he.Params { return he.MustParams(he.Shared15) })
	revealParams = sync.OnceValue(func() he.Params { return he.MustParams(he.Linear14) })
)

// checkFeatures refuses a feature value past he.MaxFeature, naming it.
func (d Data) checkFeatures() error {
	for i, v := range d.X {
		if math.Abs(v) > he.MaxFeature {
			return fmt.Errorf("%w: %w: the value at row %d, column %d is %.4g, past the %d in magnitude the noise and mask bounds hold for: standardize with a clip of at most %d (model.Standardizer.Clip)",
				ErrOptions, he.ErrLimit, i/d.Cols, i%d.Cols, v, he.MaxFeature, he.MaxFeature)
		}
	}
	return nil
}
