package he

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// HistogramChunk is the number of samples per ciphertext the histogram kernel
// takes for K bins: the samples of a chunk sit in coefficients 0..S-1 and the
// K bin sums land at coefficients 0, S, 2S, ..., so S = N / K' with K' the
// power of two at or above K. Encrypt its input with EncryptCoeffs(values, S).
func HistogramChunk(p Params, bins int) int {
	k := 1
	for k < bins {
		k <<= 1
	}
	return p.N() / k
}

// HistogramSpec describes one histogram computation.
type HistogramSpec struct {
	// Bins[f][j] is the bin of value j of the input vector for feature f.
	// A bin at or above K marks a missing value: it counts in no bin.
	Bins [][]uint8
	// K is the number of bins, at most 256.
	K int
	// Groups are the boundaries of the sample groups (tree nodes): group i
	// holds values [Groups[i], Groups[i+1]). Every boundary but the last must
	// be a multiple of HistogramChunk(K). Nil means one group of all values.
	Groups []int
	// Perm, when set, permutes each feature's bins in the output: cumulative
	// bin b of feature f is reported at position Perm[f][b] (the secret
	// per-level shuffle of SecureBoost).
	Perm [][]int
}

// Histograms returns, for each input vector, group g, feature f and bin b,
// the cumulative sum of the encrypted values j of group g whose bin for
// feature f is at most b: one CoeffGrid vector per input whose value
// (g*F + f)*K + b is that sum. Several inputs (the gradients g and hessians h
// of SecureBoost) share the binning work.
//
// Every input is a Coeff vector with chunk HistogramChunk(K) and one length. Each chunk is
// multiplied by the 0/1 polynomial P(X) = sum_j sum_{b >= bin_j} X^(S*b - j),
// which puts every cumulative bin sum of the chunk at coefficient S*b in one
// plaintext product (exact integer plaintext, no rescaling). The sparse
// results of up to S (group, feature) pairs are then packed into one
// ciphertext with automorphisms; the packing zeroes every coefficient that is
// not a bin sum, so only the sums are revealed by a decryption.
func (p *Party) Histograms(vs []*Vector, spec HistogramSpec) ([]*Vector, error) {
	return p.histograms(vs, spec, nil)
}

// HistogramPlan holds the transformed 0/1 polynomials of one binning (and
// bin permutation) over rows in their original order: they depend only on
// the binning, so a training prepares them once and every root-level
// histogram then costs only the plaintext products. Polynomials beyond the
// memory budget are rebuilt on the fly.
type HistogramPlan struct {
	spec  HistogramSpec
	rows  int
	level int
	polys [][]ring.Poly // [feature][chunk]; nil when not cached
	bytes int64
}

// Bytes returns the memory the plan's cache holds.
func (pl *HistogramPlan) Bytes() int64 { return pl.bytes }

// PrepareHistograms builds the plan of spec (one group: Groups must be nil)
// for vectors of rows values at the decryption level, caching at most
// budget bytes of polynomials (about 2*N*8 bytes per feature and chunk).
func (p *Party) PrepareHistograms(spec HistogramSpec, rows int, budget int64) (*HistogramPlan, error) {
	if spec.Groups != nil {
		return nil, fmt.Errorf("%w: a histogram plan covers one group of rows in their original order", ErrShape)
	}
	S := HistogramChunk(p.params, spec.K)
	if err := checkHistSpec(spec, rows); err != nil {
		return nil, err
	}
	level := p.params.set.DecryptLevel
	rq := p.params.ckks.RingQ().AtLevel(level)
	chunks := (rows + S - 1) / S
	per := int64(8 * rq.N() * (level + 1))
	F := len(spec.Bins)
	pl := &HistogramPlan{spec: spec, rows: rows, level: level, polys: make([][]ring.Poly, F)}
	ones := newMontOnes(rq)
	cached := min(F, int(budget/(per*int64(chunks))))
	for f := 0; f < cached; f++ {
		pl.polys[f] = make([]ring.Poly, chunks)
	}
	parallelFor(cached*chunks, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			f, c := t/chunks, t%chunks
			poly := rq.NewPoly()
			p.histPoly(rq, poly, ones, spec, f, c*S, min((c+1)*S, rows), S)
			pl.polys[f][c] = poly
		}
	})
	pl.bytes = int64(cached*chunks) * per
	return pl, nil
}

// HistogramsPlanned is Histograms for vectors in the plan's row order (one
// group), using the plan's cached polynomials.
func (p *Party) HistogramsPlanned(vs []*Vector, plan *HistogramPlan) ([]*Vector, error) {
	if plan == nil {
		return nil, fmt.Errorf("he: nil histogram plan")
	}
	return p.histograms(vs, plan.spec, plan)
}

func checkHistSpec(spec HistogramSpec, n int) error {
	if spec.K < 1 || spec.K > 256 {
		return fmt.Errorf("he: histogram with %d bins, want 1..256", spec.K)
	}
	F := len(spec.Bins)
	if F == 0 {
		return fmt.Errorf("%w: no features", ErrShape)
	}
	for f, b := range spec.Bins {
		if len(b) != n {
			return fmt.Errorf("%w: feature %d has %d bins for %d values", ErrShape, f, len(b), n)
		}
	}
	if spec.Perm != nil {
		if len(spec.Perm) != F {
			return fmt.Errorf("%w: %d permutations for %d features", ErrShape, len(spec.Perm), F)
		}
		for f, perm := range spec.Perm {
			if !isPermutation(perm, spec.K) {
				return fmt.Errorf("he: Perm[%d] is not a permutation of %d bins", f, spec.K)
			}
		}
	}
	return nil
}

func (p *Party) histograms(vs []*Vector, spec HistogramSpec, plan *HistogramPlan) ([]*Vector, error) {
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: no input vectors", ErrShape)
	}
	if spec.K < 1 || spec.K > 256 {
		return nil, fmt.Errorf("he: histogram with %d bins, want 1..256", spec.K)
	}
	S := HistogramChunk(p.params, spec.K)
	v := vs[0]
	for i, w := range vs {
		if err := w.check(p.params); err != nil {
			return nil, err
		}
		if w.Layout != Coeff || w.Chunk != S || w.Len != v.Len {
			return nil, fmt.Errorf("%w: histogram input %d must be a coeff vector of %d values with chunk %d, got %s of %d with chunk %d",
				ErrLayout, i, v.Len, S, w.Layout, w.Len, w.Chunk)
		}
	}
	if err := checkHistSpec(spec, v.Len); err != nil {
		return nil, err
	}
	F := len(spec.Bins)
	groups := spec.Groups
	if groups == nil {
		groups = []int{0, v.Len}
	}
	for i := 1; i < len(groups); i++ {
		if groups[i] < groups[i-1] || groups[i] > v.Len || (i < len(groups)-1 && groups[i]%S != 0) || groups[0] != 0 {
			return nil, fmt.Errorf("%w: group boundaries %v must start at 0, rise, and fall on multiples of %d", ErrShape, groups, S)
		}
	}
	if len(groups) < 2 || groups[len(groups)-1] != v.Len {
		return nil, fmt.Errorf("%w: group boundaries %v must end at %d", ErrShape, groups, v.Len)
	}
	G := len(groups) - 1
	level := vs[0].Level()
	for _, w := range vs {
		level = min(level, w.Level())
	}
	if plan != nil && (plan.rows != v.Len || level != plan.level) {
		return nil, fmt.Errorf("%w: plan for %d rows at level %d, vectors of %d at level %d", ErrShape, plan.rows, plan.level, v.Len, level)
	}
	rq := p.params.ckks.RingQ().AtLevel(level)
	ones := newMontOnes(rq)

	// One sparse result per (input, group, feature); each (group, feature) is
	// owned by one worker, which builds and transforms its polynomial once per
	// chunk for all inputs.
	GF := G * F
	sparse := make([]*rlwe.Ciphertext, len(vs)*GF)
	parallelFor(GF, func(lo, hi int) {
		poly := rq.NewPoly()
		for t := lo; t < hi; t++ {
			g, f := t/F, t%F
			accs := make([]*rlwe.Ciphertext, len(vs))
			for i := range accs {
				accs[i] = rlwe.NewCiphertext(p.params.ckks, 1, level)
				accs[i].IsNTT = true
				accs[i].Scale = vs[i].Cts[0].Scale
			}
			for c := groups[g] / S; c*S < groups[g+1]; c++ {
				pc := poly
				if plan != nil && plan.polys[f] != nil {
					pc = plan.polys[f][c]
				} else {
					p.histPoly(rq, poly, ones, spec, f, c*S, min((c+1)*S, groups[g+1]), S)
				}
				for i, w := range vs {
					ct := w.Cts[c]
					rq.MulCoeffsMontgomeryThenAdd(ct.Value[0], pc, accs[i].Value[0])
					rq.MulCoeffsMontgomeryThenAdd(ct.Value[1], pc, accs[i].Value[1])
				}
			}
			for i := range accs {
				sparse[i*GF+t] = accs[i]
			}
		}
	})

	// Pack S sparse results per ciphertext.
	perVec := (GF + S - 1) / S
	outs := make([]*Vector, len(vs))
	for i := range outs {
		outs[i] = &Vector{Layout: CoeffGrid, Len: GF * spec.K, Chunk: spec.K, Stride: S, Cts: make([]*rlwe.Ciphertext, perVec)}
	}
	logGap := bits.Len(uint(S)) - 1
	errs := make([]error, len(vs)*perVec)
	parallelFor(len(vs)*perVec, func(lo, hi int) {
		eval := p.evaluator.ShallowCopy()
		for t := lo; t < hi; t++ {
			i, c := t/perVec, t%perVec
			batch := map[int]*rlwe.Ciphertext{}
			for k := 0; k < S && c*S+k < GF; k++ {
				batch[k] = sparse[i*GF+c*S+k]
			}
			if len(batch) == 1 { // Pack needs two ciphertexts; add an encryption of zero
				zero := rlwe.NewCiphertext(p.params.ckks, 1, level)
				zero.IsNTT, zero.Scale = true, batch[0].Scale
				batch[1] = zero
			}
			outs[i].Cts[c], errs[t] = eval.Evaluator.Pack(batch, logGap, true)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("he: packing histograms: %w", err)
	}
	return outs, nil
}

// histPoly writes into poly the 0/1 polynomial
// sum_j sum_{b >= bin_j} X^(S*pos(b) - (j - start)) for the values j in
// [start, end), transformed (NTT) and in Montgomery form, ready for
// MulCoeffsMontgomery. Writing the Montgomery constant R mod q instead of 1
// before the transform gives the Montgomery form for free (the NTT is linear).
func (p *Party) histPoly(rq *ring.Ring, poly ring.Poly, ones montOnes, spec HistogramSpec, f, start, end, S int) {
	for _, row := range poly.Coeffs {
		clear(row)
	}
	N := p.params.N()
	moduli := poly.Coeffs
	one, minusOne := ones.one, ones.minusOne
	bins := spec.Bins[f]
	var perm []int
	if spec.Perm != nil {
		perm = spec.Perm[f]
	}
	for j := start; j < end; j++ {
		bin := int(bins[j])
		off := j - start
		for b := bin; b < spec.K; b++ {
			pos := b
			if perm != nil {
				pos = perm[b]
			}
			e := S*pos - off
			if e >= 0 {
				for l := range moduli {
					moduli[l][e] = one[l]
				}
			} else { // X^e = -X^(N+e) in Z[X]/(X^N+1)
				for l := range moduli {
					moduli[l][N+e] = minusOne[l]
				}
			}
		}
	}
	rq.NTT(poly, poly)
}

// montOnes holds 1 and -1 in Montgomery form for each prime of a ring.
type montOnes struct{ one, minusOne []uint64 }

func newMontOnes(rq *ring.Ring) montOnes {
	moduli := rq.ModuliChain()[:rq.Level()+1]
	m := montOnes{one: make([]uint64, len(moduli)), minusOne: make([]uint64, len(moduli))}
	for l, q := range moduli {
		m.one[l] = ring.MForm(1, q, ring.BRedConstant(q))
		m.minusOne[l] = q - m.one[l]
	}
	return m
}

func isPermutation(perm []int, k int) bool {
	if len(perm) != k {
		return false
	}
	seen := make([]bool, k)
	for _, x := range perm {
		if x < 0 || x >= k || seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}
