package vlr

import (
	"errors"
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
// coefficient domain (a slot vector's coefficients are within its largest
// slot), and a batch's unfolded gradient at most 2^LogScale
// (|B| MaxFeature (|p(z)| + 1) + L2 |B| |w|), |p(z)| <= sum_k |c_k| |z|^k
// for the sigmoid polynomial p. The scores open as pairs of chunks holding
// 2 z_a + 2i z_b, within 2 sqrt(2) |z| a slot, and the center's gradient
// at twice the scale (the paired residual's doubling): both count twice.
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
		// The scores open two chunks per ciphertext.
		cts += ((len(b)+slots-1)/slots+1)/2 + shapeBank.Blocks + shapeCenter.Blocks
	}
	coeffs := float64(o.Epochs) * float64(cts) * float64(p.N())
	room := maskBits - 1 - he.StatisticalSecurity - math.Log2(coeffs) - set.LogScale
	fits := func(g float64) bool {
		pz := 0.0
		for k, c := range sig.Coeffs {
			pz += math.Abs(c) * math.Pow(g, float64(k))
		}
		grad := float64(batch) * (he.MaxFeature*(pz+1) + o.Optimizer.L2*g)
		// The opened pairs hold 2 z_a + 2i z_b (each slot within 2 sqrt(2)
		// g), the center's gradient comes out at twice the scale.
		return math.Log2(2*math.Sqrt2*g) <= room && math.Log2(2*grad) <= room
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
// compare it before any key is made. (A RevealGradients training floods
// its decryptions as its own size needs, in a copy of Linear14 with the
// same id and ring: revealSet.)
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

// checkFeatures refuses a feature value past he.MaxFeature, naming where
// it is: the error reaches the peer, so it does not quote the value.
func checkFeatures(d Data) error {
	for i, v := range d.X {
		if math.Abs(v) > he.MaxFeature {
			return fmt.Errorf("%w: %w: the value at row %d, column %d is past the %d in magnitude the noise and mask bounds hold for: standardize with a clip of at most %d (model.Standardizer.Clip)",
				ErrOptions, he.ErrLimit, i/d.Cols, i%d.Cols, he.MaxFeature, he.MaxFeature)
		}
	}
	return nil
}

// The limits of RevealGradients (he.Linear14). Its decrypted gradients X^T
// d and loss sums carry ciphertext noise that grows with the rows they sum
// and with the bank's factors of the center's encrypted powers, and
// Linear14's own flooding is sized for scores only: a training sizes the
// flooding of its decryptions from the limits below and from the number
// of coefficients it decrypts (revealSet), and each party enforces the
// limits on its own inputs, so that the flooding hides the noise of every
// decryption at statistical distance 2^-40 for the whole training.
const (
	// revealMeanSquare bounds every column's sum of squares over a batch,
	// per row, counted over at least revealMinRows rows: standardized data
	// has mean square 1 over the rows it was fitted on, and a small batch
	// may reach several by chance.
	revealMeanSquare = 4
	revealMinRows    = 1024
	// revealWeight bounds the weight (he.CombineWeight) of the bank's
	// factors of the center's powers: while the bank's partial scores stay
	// within the sigmoid's interval, the sigmoid's Taylor coefficients there
	// weigh at most 0.063 and the loss's at most 1.82, for every degree and
	// interval Options allows. Past it the bank's Combine refuses the batch
	// (he.ErrLimit) and the training stops: the center learns that the
	// bank's partial scores left the interval, and nothing else.
	revealWeight = 4
	// revealMaxLogDecrypted is log2 of the most coefficients a training
	// may decrypt: 2^30, 65,536 ciphertexts, 32,768 batches whose two
	// gradients fit one ciphertext each. Its flooding grows with the
	// square root of the count, and so does the noise it leaves on the
	// gradients (he.Linear14's doc).
	revealMaxLogDecrypted = 30
)

// revealSquares is the largest sum of squares of a column over a batch of
// rows rows that the flooding of RevealGradients is sized for.
func revealSquares(rows int) float64 {
	return revealMeanSquare * float64(max(rows, revealMinRows))
}

// revealSet returns the parameter set a RevealGradients training with
// options o (defaults applied) on rows rows decrypts under: he.Linear14,
// whose moduli, scale and wire it keeps, with its flooding sized for the
// training's decryptions. LogNoiseBound is the largest bound of the
// gradients (he.XtdNoiseBound, for every batch size and both parties'
// columns, at revealSquares and revealWeight) and of the loss sums
// (he.SlotSumNoiseBound over every row of an epoch), LogMaxDecrypted the
// log2 of the coefficients of every epoch's gradients and losses, rounded
// up (a resumed training decrypts fewer), MaxCombineWeight revealWeight.
// Both parties compute it from the agreed options and sizes, so each
// floods what it helps decrypt alike. A training of more rows than
// Linear14's MaxRows, or past 2^revealMaxLogDecrypted coefficients, is
// refused (he.ErrLimit).
func revealSet(o Options, rows, bankCols, centerCols int) (he.ParamSet, error) {
	set := he.Linear14
	if rows > set.MaxRows {
		return set, fmt.Errorf("%w: %w: %d rows, over the %d the noise bound of he.%s's gradients and loss sums holds for", ErrOptions, he.ErrLimit, rows, set.MaxRows, set.ID)
	}
	p := revealParams()
	bs := batches(rows, o)
	sizes := map[int]bool{}
	cts, chunks := 0, 0
	for _, b := range bs {
		sizes[len(b)] = true
		cts += he.XtdCiphertexts(p, len(b), bankCols+1) + he.XtdCiphertexts(p, len(b), centerCols)
		chunks += (len(b) + p.Slots() - 1) / p.Slots()
	}
	coeffs := float64(o.Epochs) * float64(cts) * float64(p.N())
	bound := 0.0
	for size := range sizes {
		for _, cols := range []int{bankCols + 1, centerCols} {
			bound = math.Max(bound, he.XtdNoiseBound(p, size, cols, revealSquares(size), revealWeight))
		}
	}
	if o.lossNeeded() {
		coeffs += float64(o.Epochs) * float64(p.N()) // one sum per epoch
		bound = math.Max(bound, he.SlotSumNoiseBound(p, rows, chunks, len(bs), revealWeight))
	}
	logM := int(math.Ceil(math.Log2(coeffs)))
	if logM > revealMaxLogDecrypted {
		return set, fmt.Errorf("%w: %w: %d epochs of %d batches decrypt 2^%.1f coefficients of gradients and losses, over the 2^%d the flooding of a RevealGradients training composes over: train fewer epochs or batches",
			ErrOptions, he.ErrLimit, o.Epochs, len(bs), math.Log2(coeffs), revealMaxLogDecrypted)
	}
	set.LogNoiseBound = math.Ceil(bound*10) / 10
	set.LogMaxDecrypted = logM
	set.MaxCombineWeight = revealWeight
	return set, nil
}

// checkSquares refuses a column whose sum of squares over a batch passes
// revealSquares (RevealGradients), naming the column and the batch: the
// error reaches the peer, so it does not quote the sum.
func checkSquares(d Data, batches [][]int) error {
	for b, rows := range batches {
		limit := revealSquares(len(rows))
		for j := 0; j < d.Cols; j++ {
			s := 0.0
			for _, i := range rows {
				v := d.X[i*d.Cols+j]
				s += v * v
			}
			if s > limit {
				return fmt.Errorf("%w: %w: column %d's sum of squares over batch %d (%d rows) passes the %g the flooding of the revealed gradients is sized for (a mean square of %d per row, over at least %d rows): standardize the features (model.Standardizer) or train on larger batches",
					ErrOptions, he.ErrLimit, j, b, len(rows), limit, revealMeanSquare, revealMinRows)
			}
		}
	}
	return nil
}

// revealLimit explains a refusal of the bank's Combine (he.ErrLimit: the
// weight of its factors past revealWeight) in batch b.
func revealLimit(err error, b int) error {
	if errors.Is(err, he.ErrLimit) {
		return fmt.Errorf("vlr: batch %d: %w: the bank's partial scores have left the sigmoid's interval, within which the flooding of the revealed gradients is sized (a diverging training: lower the learning rate, or widen Bound)", b, err)
	}
	return err
}
