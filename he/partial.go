package he

import (
	"errors"
	"fmt"
	"math/big"
)

// Partial decryptions: a coefficient-encoded vector (Coeff or CoeffGrid)
// decrypted to the peer in the fewest bytes. DecryptShare's share holds
// c1*s_helper + e_flood on all N coefficients of every ciphertext, and the
// peer needs the whole vector besides; a vector whose values fill few of
// the coefficients (a level's histograms: nodes*features*bins of N) costs
// three polynomials per ciphertext for a few hundred values. Here the
// helper sends the c1 components alone (MarshalVectorC1, bit-packed) and,
// at the coefficients of the vector's values only, c0 + c1*s_helper +
// e_flood (PartialDecryption): the peer adds c1*s_own there and reads the
// values. The peer learns the values, as from DecryptShare, and less:
// neither c0 nor the share at any other coefficient leaves the helper.
// The flooding is DecryptShare's, on the coefficients revealed.

// kindPartialDecryption is the wire kind of a PartialDecryption.
const kindPartialDecryption byte = 24

func init() {
	kindNames[kindPartialDecryption] = "partial decryption"
}

// PartialDecryption is a helper's contribution to decrypting a Coeff or
// CoeffGrid vector for its peer: for every ciphertext, at the coefficient
// of each of its values (in value order), c0 + c1*s_helper + e_flood
// modulo each prime of the decryption level, in the coefficient domain.
type PartialDecryption struct {
	ParamSet string
	Level    int
	// Values[c][j*(Level+1) + l] is value j of ciphertext c modulo prime l.
	Values [][]uint64
}

// valuePositions returns the coefficient of each value of ciphertext c of
// a Coeff or CoeffGrid vector.
func (v *Vector) valuePositions(p Params, c int) []int {
	per := v.perCiphertext(p)
	n := max(0, min(per, v.Len-c*per))
	pos := make([]int, n)
	for j := range pos {
		pos[j] = j
		if v.Layout == CoeffGrid {
			pos[j] = v.gridPos(c, j)
		}
	}
	return pos
}

// DecryptPartialShare computes this party's partial decryption of v for
// the peer, which combines it with v's c1 components (MarshalVectorC1) in
// DecryptPartial. v is dropped to the decryption level first. As for
// DecryptShare, call it only for vectors the protocol reveals to the peer,
// rerandomized if the peer knows their inputs: the c1 components leave
// too.
func (p *Party) DecryptPartialShare(v *Vector) (*PartialDecryption, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return nil, fmt.Errorf("%w: a partial decryption needs a coeff or coeff-grid vector, got %s", ErrLayout, v.Layout)
	}
	p.DropToDecryptLevel(v)
	level := p.params.set.DecryptLevel
	d := &PartialDecryption{ParamSet: p.params.ID(), Level: level, Values: make([][]uint64, len(v.Cts))}
	errs := make([]error, len(v.Cts))
	parallelFor(len(v.Cts), func(lo, hi int) {
		flood, err := newFloodSampler(p.params.floodSigma())
		if err != nil {
			errs[lo] = err
			return
		}
		rq := p.params.ckks.RingQ().AtLevel(level)
		moduli := rq.ModuliChain()[:level+1]
		out := rq.NewPoly()
		for c := lo; c < hi; c++ {
			ct := v.Cts[c]
			if ct.Level() != level {
				errs[c] = fmt.Errorf("%w: ciphertext %d at level %d, want %d", ErrShape, c, ct.Level(), level)
				continue
			}
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, out)
			rq.Add(out, ct.Value[0], out)
			rq.INTT(out, out)
			pos := v.valuePositions(p.params, c)
			vals := make([]uint64, len(pos)*len(moduli))
			for j, at := range pos {
				fh, fl := flood.sample()
				for l, q := range moduli {
					x := out.Coeffs[l][at] + modSigned(fh, fl, flood.lowBits, q)
					if x >= q {
						x -= q
					}
					vals[j*len(moduli)+l] = x
				}
			}
			d.Values[c] = vals
		}
	})
	return d, errors.Join(errs...)
}

// DecryptPartial combines the helper's partial decryption d with the c1
// components of the vector it decrypts (v, as UnmarshalVectorC1 gives it:
// c0 zero) and this party's key share, and returns v's values.
func (p *Party) DecryptPartial(v *Vector, d *PartialDecryption) ([]float64, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != Coeff && v.Layout != CoeffGrid {
		return nil, fmt.Errorf("%w: a partial decryption needs a coeff or coeff-grid vector, got %s", ErrLayout, v.Layout)
	}
	level := p.params.set.DecryptLevel
	if d == nil || d.ParamSet != p.params.ID() || d.Level != level || len(d.Values) != len(v.Cts) {
		n := -1
		if d != nil {
			n = len(d.Values)
		}
		return nil, fmt.Errorf("%w: %d ciphertexts at the decryption level %d, partial decryption for %d", ErrShareMismatch, len(v.Cts), level, n)
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	moduli := rq.ModuliChain()[:level+1]
	crt := newBigCRT(moduli)
	out := make([]float64, v.Len)
	per := v.perCiphertext(p.params)
	t := rq.NewPoly()
	res := make([]uint64, len(moduli))
	for c, ct := range v.Cts {
		if ct.Level() != level {
			return nil, fmt.Errorf("%w: ciphertext %d at level %d, want %d", ErrShareMismatch, c, ct.Level(), level)
		}
		pos := v.valuePositions(p.params, c)
		if len(d.Values[c]) != len(pos)*len(moduli) {
			return nil, fmt.Errorf("%w: ciphertext %d holds %d values, partial decryption %d residues", ErrShareMismatch, c, len(pos), len(d.Values[c]))
		}
		scale := ct.Scale.Float64()
		rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, t)
		rq.INTT(t, t)
		for j, at := range pos {
			for l, q := range moduli {
				x := d.Values[c][j*len(moduli)+l]
				if x >= q {
					return nil, fmt.Errorf("%w: partial decryption residue not reduced modulo its prime", ErrMalformed)
				}
				x += t.Coeffs[l][at]
				if x >= q {
					x -= q
				}
				res[l] = x
			}
			out[c*per+j] = crt.centered(res) / scale
		}
	}
	return out, nil
}

// bigCRT reconstructs centered integers from residues (big.Int: a few
// hundred values per call).
type bigCRT struct {
	moduli    []uint64
	q, half   *big.Int
	basis     []*big.Int // Q/q_l * ((Q/q_l)^-1 mod q_l)
	tmp, term *big.Int
}

func newBigCRT(moduli []uint64) *bigCRT {
	c := &bigCRT{moduli: moduli, q: big.NewInt(1), tmp: new(big.Int), term: new(big.Int)}
	for _, m := range moduli {
		c.q.Mul(c.q, new(big.Int).SetUint64(m))
	}
	c.half = new(big.Int).Rsh(c.q, 1)
	for _, m := range moduli {
		qm := new(big.Int).SetUint64(m)
		rest := new(big.Int).Quo(c.q, qm)
		inv := new(big.Int).ModInverse(new(big.Int).Mod(rest, qm), qm)
		c.basis = append(c.basis, rest.Mul(rest, inv))
	}
	return c
}

// centered returns the integer in (-Q/2, Q/2] with the given residues, as
// a float64.
func (c *bigCRT) centered(res []uint64) float64 {
	c.tmp.SetInt64(0)
	for l, r := range res {
		c.term.SetUint64(r)
		c.term.Mul(c.term, c.basis[l])
		c.tmp.Add(c.tmp, c.term)
	}
	c.tmp.Mod(c.tmp, c.q)
	if c.tmp.Cmp(c.half) > 0 {
		c.tmp.Sub(c.tmp, c.q)
	}
	f, _ := new(big.Float).SetInt(c.tmp).Float64()
	return f
}

// MarshalPartialDecryption encodes a partial decryption for the wire.
func (p Params) MarshalPartialDecryption(d *PartialDecryption) ([]byte, error) {
	if d == nil || d.ParamSet != p.set.ID || d.Level < 0 || d.Level > p.MaxLevel() {
		return nil, fmt.Errorf("%w: partial decryption for another parameter set or level", ErrShareMismatch)
	}
	b := p.header(kindPartialDecryption)
	b = append(b, byte(d.Level))
	b = appendU32(b, uint32(len(d.Values)))
	for _, vals := range d.Values {
		if len(vals)%(d.Level+1) != 0 {
			return nil, fmt.Errorf("%w: %d residues at %d primes", ErrShareMismatch, len(vals), d.Level+1)
		}
		b = appendU32(b, uint32(len(vals)/(d.Level+1)))
		for _, x := range vals {
			b = appendU64(b, x)
		}
	}
	return b, nil
}

// UnmarshalPartialDecryption decodes a partial decryption encoded by
// MarshalPartialDecryption: every residue reduced modulo its prime, the
// length exact, at most one value per coefficient of each ciphertext.
func (p Params) UnmarshalPartialDecryption(data []byte) (*PartialDecryption, error) {
	what := kindNames[kindPartialDecryption]
	rest, err := p.readHeader(data, kindPartialDecryption)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	level := int(r.u8())
	n := int(r.u32())
	if r.err != nil {
		return nil, fmt.Errorf("%s header: %w", what, r.err)
	}
	if level > p.MaxLevel() {
		return nil, fmt.Errorf("%w: %s at level %d, parameters top out at %d", ErrMalformed, what, level, p.MaxLevel())
	}
	if n > len(r.b)/4 {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, n, len(r.b))
	}
	moduli := p.ckks.Q()[:level+1]
	d := &PartialDecryption{ParamSet: p.set.ID, Level: level, Values: make([][]uint64, n)}
	for c := range n {
		m := int(r.u32())
		if r.err != nil {
			return nil, fmt.Errorf("%s ciphertext %d: %w", what, c, r.err)
		}
		if m > p.N() || m*len(moduli)*8 > len(r.b) {
			return nil, fmt.Errorf("%w: %s ciphertext %d announces %d values in %d bytes", ErrMalformed, what, c, m, len(r.b))
		}
		vals := make([]uint64, m*len(moduli))
		for i := range vals {
			x := r.u64()
			if q := moduli[i%len(moduli)]; x >= q {
				return nil, fmt.Errorf("%w: %s ciphertext %d: residue %d not reduced modulo its prime", ErrMalformed, what, c, i)
			}
			vals[i] = x
		}
		d.Values[c] = vals
	}
	if r.err != nil {
		return nil, fmt.Errorf("%s: %w", what, r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the %s", ErrMalformed, len(r.b), what)
	}
	return d, nil
}

// DecryptSumPartialShare is the helper's part of decrypting, for its peer,
// the sum of a slot vector's values and nothing else. The peer sent only
// the c1 components of its vector (MarshalVectorRounded without c0) and
// keeps the c0; the helper returns, for every ciphertext, the constant
// coefficient of c1*s_helper plus flooding of standard deviation sigma,
// modulo each prime of the decryption level, and nothing of any other
// coefficient. That coefficient alone carries the sum of the slots' real
// parts (N/2 times it), so the peer, adding c0 + c1*s_own there
// (DecryptSumPartial), learns the flooded sum: a few bytes back. (It
// replaces a full decryption share whose other coefficients were uniform
// masks: the same disclosure in a polynomial's bytes.)
func (p *Party) DecryptSumPartialShare(v *Vector, sigma float64) (*PartialDecryption, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotReal && v.Layout != SlotComplex {
		return nil, fmt.Errorf("%w: a sum's partial decryption needs a slot-real or slot-complex vector, got %s", ErrLayout, v.Layout)
	}
	level := p.params.set.DecryptLevel
	flood, err := newFloodSampler(sigma)
	if err != nil {
		return nil, err
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	moduli := rq.ModuliChain()[:level+1]
	d := &PartialDecryption{ParamSet: p.params.ID(), Level: level, Values: make([][]uint64, len(v.Cts))}
	out := rq.NewPoly()
	for c, ct := range v.Cts {
		if ct.Level() != level {
			return nil, fmt.Errorf("%w: ciphertext %d at level %d, want the decryption level %d", ErrShape, c, ct.Level(), level)
		}
		rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, out)
		rq.INTT(out, out)
		hi, lo := flood.sample()
		vals := make([]uint64, len(moduli))
		for l, q := range moduli {
			x := out.Coeffs[l][0] + modSigned(hi, lo, flood.lowBits, q)
			if x >= q {
				x -= q
			}
			vals[l] = x
		}
		d.Values[c] = vals
	}
	return d, nil
}

// DecryptSumPartial combines the helper's DecryptSumPartialShare with this
// party's own vector v (c0 and c1, at the decryption level) and key share,
// and returns the sum of the real values of v's slots.
func (p *Party) DecryptSumPartial(v *Vector, d *PartialDecryption) (float64, error) {
	if err := v.check(p.params); err != nil {
		return 0, err
	}
	if v.Layout != SlotReal && v.Layout != SlotComplex {
		return 0, fmt.Errorf("%w: DecryptSumPartial needs a slot-real or slot-complex vector", ErrLayout)
	}
	level := p.params.set.DecryptLevel
	if d == nil || d.ParamSet != p.params.ID() || d.Level != level || len(d.Values) != len(v.Cts) {
		n := -1
		if d != nil {
			n = len(d.Values)
		}
		return 0, fmt.Errorf("%w: %d ciphertexts at the decryption level %d, partial decryption for %d", ErrShareMismatch, len(v.Cts), level, n)
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	moduli := rq.ModuliChain()[:level+1]
	c, err := p.params.crtAt(level)
	if err != nil {
		return 0, err
	}
	t := rq.NewPoly()
	res := make([]uint64, len(moduli))
	f := make([]float64, 1)
	sum := 0.0
	for i, ct := range v.Cts {
		if ct.Level() != level {
			return 0, fmt.Errorf("%w: ciphertext %d at level %d, want %d", ErrShareMismatch, i, ct.Level(), level)
		}
		if len(d.Values[i]) != len(moduli) {
			return 0, fmt.Errorf("%w: ciphertext %d: %d residues, want %d", ErrShareMismatch, i, len(d.Values[i]), len(moduli))
		}
		rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, t)
		rq.Add(t, ct.Value[0], t)
		rq.INTT(t, t)
		for l, q := range moduli {
			x := d.Values[i][l]
			if x >= q {
				return 0, fmt.Errorf("%w: partial decryption residue not reduced modulo its prime", ErrMalformed)
			}
			x += t.Coeffs[l][0]
			if x >= q {
				x -= q
			}
			res[l] = x
		}
		s := NewShare(1)
		s.c[0] = c.fromResidues(res)
		s.Float64s(f)
		sum += f[0] * float64(p.params.Slots()) / ct.Scale.Float64()
	}
	return sum, nil
}
