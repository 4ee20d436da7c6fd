package he

import (
	"errors"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// ErrPoly is returned for a polynomial the encrypted evaluation does not take.
var ErrPoly = errors.New("he: polynomial")

// oddCoeffs returns the coefficients a_1, a_3, ... in t = z/Bound of a
// polynomial 1/2 + odd (a fitted sigmoid), and checks its shape.
func (p Poly) inT() []float64 {
	a := make([]float64, len(p.Coeffs))
	for k, c := range p.Coeffs {
		a[k] = c * math.Pow(p.Bound, float64(k))
	}
	return a
}

// LogisticDepth is the number of ciphertext-product levels (each a pair of
// primes of Shared15) the evaluation of a sigmoid of the given degree takes.
func LogisticDepth(degree int) int {
	switch degree {
	case 1:
		return 0
	case 3:
		return 2
	case 5:
		return 3
	}
	return -1
}

// checkLogistic validates the sigmoid (1/2 + odd, degree 1, 3 or 5) and the
// softplus (z/2 + even, same degree) and returns their coefficients in t.
func checkLogistic(sig Poly, soft *Poly) (a, b []float64, err error) {
	deg := sig.Degree()
	if LogisticDepth(deg) < 0 {
		return nil, nil, fmt.Errorf("%w: encrypted sigmoid of degree %d; the shared mode takes degree 1, 3 or 5", ErrPoly, deg)
	}
	a = sig.inT()
	if a[0] != 0.5 {
		return nil, nil, fmt.Errorf("%w: sigmoid constant %v, want 1/2 (use FitSigmoid)", ErrPoly, a[0])
	}
	for k := 2; k <= deg; k += 2 {
		if a[k] != 0 {
			return nil, nil, fmt.Errorf("%w: sigmoid has an even term of degree %d (use FitSigmoid)", ErrPoly, k)
		}
	}
	if soft != nil {
		if soft.Degree() != deg || soft.Bound != sig.Bound {
			return nil, nil, fmt.Errorf("%w: softplus of degree %d on %v for a sigmoid of degree %d on %v", ErrPoly, soft.Degree(), soft.Bound, deg, sig.Bound)
		}
		b = soft.inT()
		if soft.Coeffs[1] != 0.5 {
			return nil, nil, fmt.Errorf("%w: softplus linear term %v, want z/2 (use FitSoftplus)", ErrPoly, soft.Coeffs[1])
		}
		for k := 3; k <= deg; k += 2 {
			if b[k] != 0 {
				return nil, nil, fmt.Errorf("%w: softplus has an odd term of degree %d (use FitSoftplus)", ErrPoly, k)
			}
		}
	}
	return a, b, nil
}

// Logistic evaluates, for an encrypted SlotReal vector z of scores at the
// top level of Shared15 and the labels y, the residual d = sig(z) - y and,
// when soft is set, the per-row log-loss softplus(z) - y z, both at the
// linear level (DecryptLevel + 1) where X^T d takes d. sig is 1/2 plus an
// odd polynomial of degree 1, 3 or 5 and soft z/2 plus an even one, on the
// same interval (FitSigmoid, FitSoftplus).
//
// With t = z/Bound (a change of scale, no operation), u = t^2 and Horner's
// rule in u, degree 5 takes three ciphertext products per ciphertext:
//
//	u = t*t;  v = u*(a5 u + a3);  sig = 1/2 + t*(v + a1)
//	soft = z/2 + u*(b4 u + b2) + b0
//
// A product by a real constant is a change of the ciphertext's scale (its
// plaintext is unchanged), and a constant is added to every slot exactly,
// so the only approximation is the ciphertexts' own noise. Each product is
// rescaled by two primes of about 45 bits, keeping scales near 2^90.
func (p *Party) Logistic(z *Vector, sig Poly, soft *Poly, y []float64) (d, loss *Vector, err error) {
	a, b, err := checkLogistic(sig, soft)
	if err != nil {
		return nil, nil, err
	}
	if err := z.check(p.params); err != nil {
		return nil, nil, err
	}
	if z.Layout != SlotReal || z.Len != len(y) {
		return nil, nil, fmt.Errorf("%w: the sigmoid takes a slot-real vector of %d scores, got %s of %d", ErrShape, len(y), z.Layout, z.Len)
	}
	target := p.params.set.DecryptLevel + 1
	if z.Level() < target+2*LogisticDepth(sig.Degree()) {
		return nil, nil, fmt.Errorf("he: the sigmoid of degree %d needs the scores at level %d, they are at %d", sig.Degree(), target+2*LogisticDepth(sig.Degree()), z.Level())
	}
	slots := p.params.Slots()
	d = &Vector{Layout: SlotReal, Len: z.Len, Cts: make([]*rlwe.Ciphertext, len(z.Cts))}
	if soft != nil {
		loss = &Vector{Layout: SlotReal, Len: z.Len, Cts: make([]*rlwe.Ciphertext, len(z.Cts))}
	}
	errs := make([]error, len(z.Cts))
	parallelFor(len(z.Cts), func(lo, hi int) {
		wp := p.getWorker()
		defer p.putWorker(wp)
		w := *wp
		for c := lo; c < hi; c++ {
			yc := y[c*slots : min((c+1)*slots, len(y))]
			var lc *rlwe.Ciphertext
			if soft != nil {
				d.Cts[c], lc, errs[c] = p.logisticCt(w, z.Cts[c], sig.Bound, a, b, yc, target)
				loss.Cts[c] = lc
			} else {
				d.Cts[c], _, errs[c] = p.logisticCt(w, z.Cts[c], sig.Bound, a, nil, yc, target)
			}
			if errs[c] != nil {
				return
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return d, loss, nil
}

// scaled returns a shallow copy of ct whose value is k times ct's: the same
// plaintext at scale S/|k|, negated when k < 0.
func scaled(w worker, ct *rlwe.Ciphertext, k float64) (*rlwe.Ciphertext, error) {
	if k == 0 || math.IsNaN(k) || math.IsInf(k, 0) {
		return nil, fmt.Errorf("%w: coefficient %v", ErrPoly, k)
	}
	out := ct.CopyNew()
	out.Scale = ct.Scale.Div(rlwe.NewScale(math.Abs(k)))
	if k < 0 {
		rq := w.eval.GetParameters().RingQ().AtLevel(out.Level())
		rq.Neg(out.Value[0], out.Value[0])
		rq.Neg(out.Value[1], out.Value[1])
	}
	return out, nil
}

// mulRescale returns x*y relinearised and rescaled by two primes.
func mulRescale(w worker, x, y *rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	level := min(x.Level(), y.Level())
	if x.Level() > level {
		x = w.eval.DropLevelNew(x, x.Level()-level)
	}
	if y.Level() > level {
		y = w.eval.DropLevelNew(y, y.Level()-level)
	}
	out, err := w.eval.MulRelinNew(x, y)
	if err != nil {
		return nil, err
	}
	for range 2 {
		if err := w.eval.Rescale(out, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *Party) logisticCt(w worker, z *rlwe.Ciphertext, bound float64, a, b, y []float64, target int) (d, loss *rlwe.Ciphertext, err error) {
	deg := len(a) - 1
	// t = z / Bound: the same plaintext read at scale S*Bound.
	t := z.CopyNew()
	t.Scale = z.Scale.Mul(rlwe.NewScale(bound))
	var u *rlwe.Ciphertext
	var odd *rlwe.Ciphertext
	switch deg {
	case 1:
		if odd, err = scaled(w, t, a[1]); err != nil {
			return nil, nil, err
		}
	case 3, 5:
		if u, err = mulRescale(w, t, t); err != nil {
			return nil, nil, err
		}
		inner := u
		if deg == 5 {
			// v = u*(a5 u + a3)
			h, err := scaled(w, u, a[5])
			if err != nil {
				return nil, nil, err
			}
			if err := w.eval.Add(h, a[3], h); err != nil {
				return nil, nil, err
			}
			if inner, err = mulRescale(w, u, h); err != nil {
				return nil, nil, err
			}
		} else if inner, err = scaled(w, u, a[3]); err != nil {
			return nil, nil, err
		}
		if err := w.eval.Add(inner, a[1], inner); err != nil {
			return nil, nil, err
		}
		if odd, err = mulRescale(w, t, inner); err != nil {
			return nil, nil, err
		}
	}
	half := make([]float64, len(y))
	for i, yi := range y {
		half[i] = 0.5 - yi
	}
	// The loss runs beside the residual on a second worker: a batch of one
	// ciphertext would otherwise leave the other core idle.
	type lossOut struct {
		ct  *rlwe.Ciphertext
		err error
	}
	lossCh := make(chan lossOut, 1)
	if b != nil {
		go func() {
			wp := p.getWorker()
			defer p.putWorker(wp)
			ct, err := p.lossCt(*wp, z, u, b, half, target)
			lossCh <- lossOut{ct, err}
		}()
	}
	// d = odd + (1/2 - y), at the target level.
	if odd.Level() > target {
		w.eval.DropLevel(odd, odd.Level()-target)
	}
	err = p.addPlainSlots(w, odd, half)
	if b == nil {
		return odd, nil, err
	}
	l := <-lossCh
	if err == nil {
		err = l.err
	}
	return odd, l.ct, err
}

// lossCt returns the per-row loss (1/2 - y) z + even(t), even(t) = b0 +
// u (b2 + b4 u), at the target level.
func (p *Party) lossCt(w worker, z, u *rlwe.Ciphertext, b, half []float64, target int) (*rlwe.Ciphertext, error) {
	deg := len(b) - 1
	var even *rlwe.Ciphertext
	var err error
	switch deg {
	case 1:
	case 3:
		if even, err = scaled(w, u, b[2]); err != nil {
			return nil, err
		}
	case 5:
		h, err := scaled(w, u, b[4])
		if err != nil {
			return nil, err
		}
		if err := w.eval.Add(h, b[2], h); err != nil {
			return nil, err
		}
		if even, err = mulRescale(w, u, h); err != nil {
			return nil, err
		}
	}
	// (1/2 - y) z: a plaintext product at the top, rescaled by one prime,
	// with the plaintext's scale chosen to land on the even part's scale.
	lin, err := p.mulPlainTo(w, z, half, even)
	if err != nil {
		return nil, err
	}
	if even != nil {
		if even.Level() > lin.Level() {
			w.eval.DropLevel(even, even.Level()-lin.Level())
		} else if lin.Level() > even.Level() {
			w.eval.DropLevel(lin, lin.Level()-even.Level())
		}
		lin.Scale = even.Scale // equal up to float rounding (2^-52)
		if err := w.eval.Add(lin, even, lin); err != nil {
			return nil, err
		}
	}
	if err := w.eval.Add(lin, b[0], lin); err != nil {
		return nil, err
	}
	if lin.Level() > target {
		w.eval.DropLevel(lin, lin.Level()-target)
	}
	return lin, nil
}

// mulPlainTo returns v*ct for a plaintext slot vector v, rescaled once, at
// the scale of like (or of ct when like is nil).
func (p *Party) mulPlainTo(w worker, ct *rlwe.Ciphertext, v []float64, like *rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	q := float64(p.params.ckks.Q()[ct.Level()])
	want := ct.Scale.Float64()
	if like != nil {
		want = like.Scale.Float64()
	}
	pt := ckks.NewPlaintext(p.params.ckks, ct.Level())
	if err := w.encodeSlots(p.params, v, nil, nil, want*q/ct.Scale.Float64(), pt); err != nil {
		return nil, err
	}
	out, err := w.eval.MulNew(ct, pt)
	if err != nil {
		return nil, err
	}
	if err := w.eval.Rescale(out, out); err != nil {
		return nil, err
	}
	return out, nil
}

// addPlainSlots adds a plaintext slot vector to ct at ct's scale.
func (p *Party) addPlainSlots(w worker, ct *rlwe.Ciphertext, v []float64) error {
	pt := ckks.NewPlaintext(p.params.ckks, ct.Level())
	if err := w.encodeSlots(p.params, v, nil, nil, ct.Scale.Float64(), pt); err != nil {
		return err
	}
	pt.Scale = ct.Scale
	return w.eval.Add(ct, pt, ct)
}
