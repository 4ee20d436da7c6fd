package he

import (
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
	"gonum.org/v1/gonum/mat"
)

// Poly is a real polynomial sum_k Coeffs[k] z^k, fitted on [-Bound, Bound].
type Poly struct {
	Coeffs []float64
	Bound  float64
}

// Eval evaluates the polynomial at z (Horner).
func (p Poly) Eval(z float64) float64 {
	s := 0.0
	for k := len(p.Coeffs) - 1; k >= 0; k-- {
		s = s*z + p.Coeffs[k]
	}
	return s
}

// Degree returns the degree of the polynomial.
func (p Poly) Degree() int { return len(p.Coeffs) - 1 }

// FitSigmoid returns the least-squares polynomial of the given degree to the
// logistic function 1/(1+e^-z) on [-bound, bound], fitted on 1024 Chebyshev
// nodes (which weight the ends, where a least-squares fit on a uniform grid
// drifts). Degree 1 with a small bound recovers FATE's Taylor 0.5 + z/4;
// degree 5 on [-8, 8] stays within 0.055 of the logistic function, degree 7
// on [-6, 6] within 0.01 (TestFitSigmoid). Keep the bound close to the range
// of the scores: the error grows fast with it.
//
// The logistic function is 1/2 plus an odd function, and so is the fit: its
// constant is exactly 1/2 and its other even coefficients exactly 0 (the
// least-squares fit on symmetric nodes has them to rounding; they are set),
// which the encrypted evaluation of Logistic relies on.
func FitSigmoid(degree int, bound float64) (Poly, error) {
	p, err := Fit(func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }, degree, bound)
	if err != nil {
		return p, err
	}
	for k := 0; k <= degree; k += 2 {
		p.Coeffs[k] = 0
	}
	p.Coeffs[0] = 0.5
	return p, nil
}

// FitSoftplus returns the least-squares polynomial to softplus(z) =
// log(1 + e^z) on [-bound, bound]: the log-loss of a row with label y is
// softplus(z) - y*z, so the bank can evaluate the loss from the center's
// encrypted powers like the sigmoid.
//
// softplus(z) is z/2 plus an even function, and so is the fit: its linear
// coefficient is exactly 1/2 and its other odd coefficients exactly 0.
func FitSoftplus(degree int, bound float64) (Poly, error) {
	p, err := Fit(func(z float64) float64 {
		if z > 30 {
			return z
		}
		return math.Log1p(math.Exp(z))
	}, degree, bound)
	if err != nil {
		return p, err
	}
	for k := 1; k <= degree; k += 2 {
		p.Coeffs[k] = 0
	}
	p.Coeffs[1] = 0.5
	return p, nil
}

// Fit returns the least-squares polynomial of the given degree to f on
// [-bound, bound], fitted on 1024 Chebyshev nodes.
func Fit(f func(float64) float64, degree int, bound float64) (Poly, error) {
	if degree < 1 || degree > 15 {
		return Poly{}, fmt.Errorf("he: polynomial degree %d outside [1, 15]", degree)
	}
	if !(bound > 0) || math.IsInf(bound, 0) {
		return Poly{}, fmt.Errorf("he: polynomial interval bound %v must be positive", bound)
	}
	const nodes = 1024
	a := mat.NewDense(nodes, degree+1, nil)
	b := mat.NewVecDense(nodes, nil)
	for i := 0; i < nodes; i++ {
		t := math.Cos(math.Pi * (float64(i) + 0.5) / nodes) // in (-1, 1)
		z := t * bound
		// Fit in t (well conditioned), convert to z below.
		pow := 1.0
		for k := 0; k <= degree; k++ {
			a.Set(i, k, pow)
			pow *= t
		}
		b.SetVec(i, f(z))
	}
	var c mat.VecDense
	if err := c.SolveVec(a, b); err != nil {
		return Poly{}, fmt.Errorf("he: polynomial fit: %w", err)
	}
	coeffs := make([]float64, degree+1)
	for k := range coeffs {
		coeffs[k] = c.AtVec(k) / math.Pow(bound, float64(k))
	}
	return Poly{Coeffs: coeffs, Bound: bound}, nil
}

// Shifted returns the coefficients, for each row i, of p(u[i] + x) as a
// polynomial in x: out[k][i] is the coefficient of x^k. Vertical LR uses it
// with u the bank's partial scores and x the center's: the bank then computes
// p(z) from the center's encrypted powers x, x^2, ... with plaintext products
// only (see Combine).
func (p Poly) Shifted(u []float64) [][]float64 {
	deg := p.Degree()
	out := make([][]float64, deg+1)
	for k := range out {
		out[k] = make([]float64, len(u))
	}
	binom := make([]float64, deg+1) // row of Pascal's triangle, reused
	for i, ui := range u {
		// p(u + x) = sum_m c_m sum_k C(m,k) u^(m-k) x^k
		for m := 0; m <= deg; m++ {
			binom[0] = 1
			for k := 1; k <= m; k++ {
				binom[k] = 0
			}
			for r := 1; r <= m; r++ { // build C(m, .) in place
				for k := r; k >= 1; k-- {
					binom[k] += binom[k-1]
				}
			}
			upow := 1.0
			for k := m; k >= 0; k-- { // u^(m-k) grows as k falls
				out[k][i] += p.Coeffs[m] * binom[k] * upow
				upow *= ui
			}
		}
	}
	return out
}

// Combine returns constant + sum_k coeffs[k] . xs[k] (elementwise) for
// encrypted SlotReal vectors xs of one length at one level and plaintext
// vectors of that length: the bank's step of vertical LR, where xs are the
// center's encrypted powers of its partial score and the coefficients come
// from Poly.Shifted. One plaintext product per term, then one rescale: the
// result is one level below xs at the set's scale. constant may be nil.
func (p *Party) Combine(xs []*Vector, coeffs [][]float64, constant []float64) (*Vector, error) {
	return p.combineTerms(xs, SlotReal, coeffs, nil, constant)
}

// combineTerms is Combine for SlotReal terms (im nil) and CombinePairs for
// SlotComplex ones.
func (p *Party) combineTerms(xs []*Vector, layout Layout, re, im [][]float64, constant []float64) (*Vector, error) {
	pairs := layout == SlotComplex
	if len(xs) == 0 || len(re) != len(xs) || (pairs && len(im) != len(xs)) {
		return nil, fmt.Errorf("%w: %d vectors and %d coefficient rows", ErrShape, len(xs), len(re))
	}
	n := xs[0].Len
	level := xs[0].Level()
	for k, x := range xs {
		if err := x.check(p.params); err != nil {
			return nil, err
		}
		if x.Layout != layout || x.Len != n || x.Level() != level || len(re[k]) != n || (pairs && len(im[k]) != n) {
			return nil, fmt.Errorf("%w: term %d: %s vector of %d values at level %d with %d coefficients, want %s %d at level %d",
				ErrShape, k, x.Layout, x.Len, x.Level(), len(re[k]), layout, n, level)
		}
	}
	if constant != nil && len(constant) != n {
		return nil, fmt.Errorf("%w: constant of %d values for %d", ErrShape, len(constant), n)
	}
	if level < 1 {
		return nil, fmt.Errorf("he: combining needs a level to rescale, the vectors are at level 0")
	}
	if limit := p.params.set.MaxCombineWeight; limit > 0 {
		var w float64
		if pairs {
			w = CombineWeight(re, im)
		} else {
			w = CombineWeight(re, nil)
		}
		// The weight is a function of the caller's private factors: the
		// error, which may reach the peer, names only the limit.
		if !(w <= limit) {
			return nil, fmt.Errorf("%w: the plaintext factors of %d terms weigh more than the %g the noise bound of %s holds for (MaxCombineWeight)", ErrLimit, len(xs), limit, p.params.ID())
		}
	}
	conj := p.params.ckks.GaloisElementForComplexConjugation()
	if pairs && !p.hasGalois(conj) {
		return nil, fmt.Errorf("he: combining pairs needs the conjugation key (KeySpec.Conjugate)")
	}
	qScale := rlwe.NewScale(p.params.ckks.Q()[level])
	per := p.params.Slots()
	out := &Vector{Layout: SlotReal, Len: n, Cts: make([]*rlwe.Ciphertext, len(xs[0].Cts))}
	errs := make([]error, len(out.Cts))
	parallelFor(len(out.Cts), func(lo, hi int) {
		w := p.worker()
		pt := ckks.NewPlaintext(p.params.ckks, level)
		// Pairs: (a + ib)(r - is)/2 has real part (ar + bs)/2; adding the
		// conjugate after the products doubles it and cancels the imaginary
		// part, which would otherwise carry a*s - b*r to the decryption.
		half := 1.0
		var mre, mim []float64
		if pairs {
			half = 0.5
			mre, mim = make([]float64, per), make([]float64, per)
		}
		for c := lo; c < hi; c++ {
			a, b := c*per, min((c+1)*per, n)
			var acc *rlwe.Ciphertext
			for k, x := range xs {
				var err error
				if pairs {
					for i := a; i < b; i++ {
						mre[i-a], mim[i-a] = re[k][i]*half, -im[k][i]*half
					}
					err = w.encodeSlots(p.params, mre[:b-a], mim[:b-a], nil, qScale.Float64(), pt)
				} else {
					err = w.encodeSlots(p.params, re[k][a:b], nil, nil, qScale.Float64(), pt)
				}
				if err == nil && acc == nil {
					acc, err = w.eval.MulNew(x.Cts[c], pt)
				} else if err == nil {
					err = w.eval.MulThenAdd(x.Cts[c], pt, acc)
				}
				if err != nil {
					errs[c] = err
					return
				}
			}
			if constant != nil {
				// Encoded at scale q, then lifted by 2^LogScale to the
				// accumulator's scale, staying on lattigo's fast path.
				cs := constant[a:b]
				if pairs {
					for i := range cs {
						mre[i] = cs[i] * half
					}
					cs = mre[:b-a]
				}
				if errs[c] = w.encodeSlots(p.params, cs, nil, nil, qScale.Float64(), pt); errs[c] != nil {
					return
				}
				liftPow2(p.params.ckks.RingQ().AtLevel(level), pt.Value, int(p.params.set.LogScale))
				pt.Scale = acc.Scale
				if errs[c] = w.eval.Add(acc, pt, acc); errs[c] != nil {
					return
				}
			}
			if errs[c] = w.eval.Rescale(acc, acc); errs[c] != nil {
				return
			}
			if pairs {
				tmp, err := w.eval.ConjugateNew(acc)
				if err == nil {
					err = w.eval.Add(acc, tmp, acc)
				}
				if err != nil {
					errs[c] = err
					return
				}
			}
			out.Cts[c] = acc
		}
	})
	return out, joinErrs(errs)
}

// SumRotations returns the slot rotations SumSlots needs.
func SumRotations(p Params) []int {
	var rots []int
	for s := 1; s < p.Slots(); s <<= 1 {
		rots = append(rots, s)
	}
	return rots
}

// SumSlots returns the sum of all values of a SlotReal vector, in a
// one-value vector whose every slot holds the total (so a decryption reveals
// the sum and nothing else). Its rotations are SumRotations.
func (p *Party) SumSlots(v *Vector) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotReal || len(v.Cts) == 0 {
		return nil, fmt.Errorf("%w: SumSlots needs a non-empty slot-real vector, got %s", ErrLayout, v.Layout)
	}
	eval := p.evaluator.ShallowCopy()
	sum := v.Cts[0].CopyNew()
	for _, ct := range v.Cts[1:] {
		if err := eval.Add(sum, ct, sum); err != nil {
			return nil, err
		}
	}
	tmp := ckks.NewCiphertext(p.params.ckks, 1, sum.Level())
	for s := 1; s < p.params.Slots(); s <<= 1 {
		if err := eval.Rotate(sum, s, tmp); err != nil {
			return nil, fmt.Errorf("he: SumSlots: %w (add SumRotations to the KeySpec)", err)
		}
		if err := eval.Add(sum, tmp, sum); err != nil {
			return nil, err
		}
	}
	return &Vector{Layout: SlotReal, Len: 1, Cts: []*rlwe.Ciphertext{sum}}, nil
}
