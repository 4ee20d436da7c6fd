package he

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Two real vectors per complex slot. A SlotReal vector of k ciphertexts
// ("chunks") travels as ceil(k/2): chunk 2j in the real parts of pair j,
// chunk 2j+1 in the imaginary parts. Multiplying every slot by i is
// multiplying the plaintext polynomial by the monomial X^(N/2) (the slots
// are the polynomial at the roots zeta^(5^j) of X^N + 1, and
// zeta^(5^j N/2) = i), so pairing costs no key and no noise; separating a
// pair again needs the complex conjugate: under encryption a key switch by
// the conjugation key (KeySpec.Conjugate), on shares an automorphism.
// Every pair carries each value doubled (2 Re and 2 Im come out of a sum
// with the conjugate): the receiver keeps the doubling in the scale.

// PairedLen is the length of the SlotComplex vector PairChunks makes of a
// SlotReal vector of n values: the values of its even chunks.
func (p Params) PairedLen(n int) int {
	s := p.Slots()
	out := 0
	for c := 0; c*s < n; c += 2 {
		out += min(s, n-c*s)
	}
	return out
}

// RealParts sets v to v + conj(v): every slot to twice its real part (a
// vector whose imaginary parts carry garbage, as MulVector's result, keeps
// its real values only, doubled). One key switch per ciphertext; needs the
// conjugation key at or above v's level.
func (p *Party) RealParts(v *Vector) error {
	if err := v.check(p.params); err != nil {
		return err
	}
	if v.Layout != SlotReal {
		return fmt.Errorf("%w: real parts of a %s vector", ErrLayout, v.Layout)
	}
	if !p.hasGalois(p.params.ckks.GaloisElementForComplexConjugation()) {
		return fmt.Errorf("he: real parts need the conjugation key (KeySpec.Conjugate)")
	}
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		w := p.getWorker()
		defer p.putWorker(w)
		for c := lo; c < hi; c++ {
			ct := v.Cts[c]
			conj, err := w.eval.ConjugateNew(ct)
			if err == nil {
				err = w.eval.Add(ct, conj, ct)
			}
			errs[c] = err
		}
	})
	return joinErrs(errs)
}

// PairChunks returns the SlotComplex vector of PairedLen(v.Len) pairs
// whose ciphertext j is chunk 2j + i * chunk 2j+1 of the SlotReal vector v
// (at v's level and scale; the last alone when v has an odd count). The
// imaginary parts of v must be zero (RealParts, or values encrypted real):
// they would land on the real parts of the partner chunk.
func (p *Party) PairChunks(v *Vector) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotReal {
		return nil, fmt.Errorf("%w: pairing the chunks of a %s vector", ErrLayout, v.Layout)
	}
	out := &Vector{Layout: SlotComplex, Len: p.params.PairedLen(v.Len), Cts: make([]*rlwe.Ciphertext, (len(v.Cts)+1)/2)}
	for j := range out.Cts {
		re := v.Cts[2*j]
		ct := re.CopyNew()
		if 2*j+1 < len(v.Cts) {
			im := v.Cts[2*j+1]
			if im.Level() != re.Level() || im.Scale.Float64() != re.Scale.Float64() {
				return nil, fmt.Errorf("%w: pairing chunks at different levels or scales", ErrLayout)
			}
			rq := p.params.ckks.RingQ().AtLevel(re.Level())
			for k := range ct.Value {
				t := p.mulI(rq, im.Value[k])
				rq.Add(ct.Value[k], t, ct.Value[k])
			}
		}
		out.Cts[j] = ct
	}
	return out, nil
}

// mulI returns x * X^(N/2) for x in the NTT domain.
func (p *Party) mulI(rq *ring.Ring, x ring.Poly) ring.Poly {
	t := rq.NewPoly()
	rq.INTT(x, t)
	rq.MultByMonomial(t, p.params.N()/2, t)
	rq.NTT(t, t)
	return t
}

// UnpairChunks undoes PairChunks under encryption: the SlotReal vector of
// n values whose chunk 2j is Re(pair j) and chunk 2j+1 is Im(pair j), as 2
// Re and 2 Im at twice the pairs' scale (the doubling kept in the scale,
// not divided out). One key switch per pair; needs the conjugation key at
// or above the pairs' level.
func (p *Party) UnpairChunks(v *Vector, n int) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotComplex || v.Len != p.params.PairedLen(n) || n < 1 {
		return nil, fmt.Errorf("%w: unpairing a %s vector of %d pairs into %d values", ErrLayout, v.Layout, v.Len, n)
	}
	if !p.hasGalois(p.params.ckks.GaloisElementForComplexConjugation()) {
		return nil, fmt.Errorf("he: unpairing needs the conjugation key (KeySpec.Conjugate)")
	}
	k := (n + p.params.Slots() - 1) / p.params.Slots()
	out := &Vector{Layout: SlotReal, Len: n, Cts: make([]*rlwe.Ciphertext, k)}
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		w := p.getWorker()
		defer p.putWorker(w)
		for j := lo; j < hi; j++ {
			ct := v.Cts[j]
			conj, err := w.eval.ConjugateNew(ct)
			if err != nil {
				errs[j] = err
				return
			}
			re, err := w.eval.AddNew(ct, conj)
			if err != nil {
				errs[j] = err
				return
			}
			re.Scale = ct.Scale.Mul(rlwe.NewScale(2))
			out.Cts[2*j] = re
			if 2*j+1 < k {
				// -i (P - conj P) = 2 Im P; -i is -X^(N/2).
				im, err := w.eval.SubNew(ct, conj)
				if err != nil {
					errs[j] = err
					return
				}
				rq := p.params.ckks.RingQ().AtLevel(im.Level())
				for c := range im.Value {
					t := p.mulI(rq, im.Value[c])
					rq.Neg(t, im.Value[c])
				}
				im.Scale = re.Scale
				out.Cts[2*j+1] = im
			}
		}
	})
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// UnpairShares is UnpairChunks on a party's share of a SlotComplex vector
// of PairedLen(n) pairs: the share of the SlotReal vector of n values 2 Re
// and 2 Im of the pairs, at twice sv's scale (so that it means the pairs'
// values themselves). No key: the conjugate of a share is an automorphism.
func (p Params) UnpairShares(sv *SharedVector, n int) (*SharedVector, error) {
	if sv.Layout != SlotComplex || sv.Len != p.PairedLen(n) || n < 1 || len(sv.Shares) != (sv.Len+p.Slots()-1)/p.Slots() {
		return nil, fmt.Errorf("%w: unpairing %d shares of a %s vector of %d pairs into %d values", ErrShares, len(sv.Shares), sv.Layout, sv.Len, n)
	}
	k := (n + p.Slots() - 1) / p.Slots()
	out := &SharedVector{Layout: SlotReal, Len: n, Scale: 2 * sv.Scale, Shares: make([]*Share, k)}
	g := p.ckks.GaloisElementForComplexConjugation()
	half := p.N() / 2
	for j, s := range sv.Shares {
		if s.N() != p.N() {
			return nil, fmt.Errorf("%w: share of %d coefficients, N = %d", ErrShares, s.N(), p.N())
		}
		conj := NewShare(p.N())
		conj.Automorphism(s, g)
		re := NewShare(p.N())
		re.Add(s, conj)
		out.Shares[2*j] = re
		if 2*j+1 < k {
			d := NewShare(p.N())
			d.Sub(s, conj)
			// -X^(N/2) d: coefficient m moves to m + N/2, negated below
			// N/2 and kept above (X^N = -1).
			im := NewShare(p.N())
			for m := 0; m < p.N(); m++ {
				if m < half {
					im.c[m+half] = sub4(limb4{}, d.c[m])
				} else {
					im.c[m-half] = d.c[m]
				}
			}
			out.Shares[2*j+1] = im
		}
	}
	return out, nil
}

// PairShares is PairChunks on a party's share of a SlotReal vector (whose
// imaginary parts are zero): the share of the SlotComplex vector of
// PairedLen(sv.Len) pairs, chunk 2j + i chunk 2j+1, at sv's scale. No key,
// no rounding: i is the monomial X^(N/2).
func (p Params) PairShares(sv *SharedVector) (*SharedVector, error) {
	if sv.Layout != SlotReal || sv.Len < 1 || len(sv.Shares) != (sv.Len+p.Slots()-1)/p.Slots() {
		return nil, fmt.Errorf("%w: pairing %d shares of a %s vector of %d values", ErrShares, len(sv.Shares), sv.Layout, sv.Len)
	}
	k := len(sv.Shares)
	out := &SharedVector{Layout: SlotComplex, Len: p.PairedLen(sv.Len), Scale: sv.Scale, Shares: make([]*Share, (k+1)/2)}
	half := p.N() / 2
	for j := range out.Shares {
		re := sv.Shares[2*j]
		if re.N() != p.N() {
			return nil, fmt.Errorf("%w: share of %d coefficients, N = %d", ErrShares, re.N(), p.N())
		}
		s := re.Clone()
		if 2*j+1 < k {
			im := sv.Shares[2*j+1]
			if im.N() != p.N() {
				return nil, fmt.Errorf("%w: share of %d coefficients, N = %d", ErrShares, im.N(), p.N())
			}
			// X^(N/2) im: coefficient m moves to m + N/2, and those past N
			// wrap negated (X^N = -1).
			for m := 0; m < p.N(); m++ {
				if m < half {
					s.c[m+half] = add4(s.c[m+half], im.c[m])
				} else {
					s.c[m-half] = sub4(s.c[m-half], im.c[m])
				}
			}
		}
		out.Shares[j] = s
	}
	return out, nil
}
