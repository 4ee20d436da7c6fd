package he

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"

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
	kern := newHistKernel(rq, spec.K, S)
	var shared histTable
	if spec.Perm == nil {
		shared = kern.table(ones, nil)
	}
	cached := min(F, int(budget/(per*int64(chunks))))
	for f := 0; f < cached; f++ {
		pl.polys[f] = make([]ring.Poly, chunks)
	}
	parallelFor(cached, func(lo, hi int) {
		idx := make([]uint16, S)
		for f := lo; f < hi; f++ {
			tab := shared
			if tab.t == nil {
				tab = kern.table(ones, spec.Perm[f])
			}
			for c := range chunks {
				poly := rq.NewPoly()
				kern.chunkIndex(idx, spec.Bins[f], c*S, min((c+1)*S, rows))
				kern.poly(tab, idx, poly)
				pl.polys[f][c] = poly
			}
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
	GF := G * F
	sparse := p.histSparse(vs, spec, groups, plan, level)

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

// histSparse returns the sparse products, one per (input, group, feature):
// input i, group g and feature f at i*G*F + g*F + f.
//
// Work goes by (group, block of histFeatures features), handed out to the
// workers one at a time. Each worker walks its group's chunks block by block
// (S coefficients of one modulus): it reads the inputs' block once from
// memory, transforms the block of each feature's polynomial (or reads the
// plan's), and multiplies it into 128-bit accumulators that stay in cache.
// Accumulators are reduced every foldEvery chunks and at the end.
func (p *Party) histSparse(vs []*Vector, spec HistogramSpec, groups []int, plan *HistogramPlan, level int) []*rlwe.Ciphertext {
	S := HistogramChunk(p.params, spec.K)
	F, G := len(spec.Bins), len(groups)-1
	rq := p.params.ckks.RingQ().AtLevel(level)
	N := rq.N()
	ones := newMontOnes(rq)
	kern := newHistKernel(rq, spec.K, S)
	var shared histTable
	if spec.Perm == nil {
		shared = kern.table(ones, nil)
	}
	L := level + 1
	FB := (F + histFeatures - 1) / histFeatures
	sparse := make([]*rlwe.Ciphertext, len(vs)*G*F)
	cached := func(f int) bool { return plan != nil && plan.polys[f] != nil }
	parallelDynamic(G*FB, func(next func() (int, bool)) {
		idx := make([][]uint16, histFeatures)             // [feature][chunk of the window][S]
		acc := make([][]uint64, histFeatures*len(vs)*2*L) // [feature][input][component][modulus], (hi, lo) pairs
		for f := range idx {
			idx[f] = make([]uint16, histWindow*S)
		}
		for i := range acc {
			acc[i] = make([]uint64, 2*N)
		}
		y := make([]uint64, S)
		tabs := make([]histTable, histFeatures)
		accs, ins := make([][]uint64, 2*len(vs)), make([][]uint64, 2*len(vs))
		for u, ok := next(); ok; u, ok = next() {
			g, f0 := u/FB, (u%FB)*histFeatures
			f1 := min(f0+histFeatures, F)
			for f := f0; f < f1; f++ {
				tabs[f-f0] = shared
				if shared.t == nil && !cached(f) {
					tabs[f-f0] = kern.table(ones, spec.Perm[f])
				}
			}
			c0, c1 := groups[g]/S, (groups[g+1]+S-1)/S
			for w0 := c0; w0 < c1; w0 += histWindow {
				w1 := min(w0+histWindow, c1)
				for f := f0; f < f1; f++ {
					if !cached(f) {
						for c := w0; c < w1; c++ {
							kern.chunkIndex(idx[f-f0][(c-w0)*S:(c-w0+1)*S], spec.Bins[f], c*S, min((c+1)*S, groups[g+1]))
						}
					}
				}
				for l := 0; l < L; l++ {
					m := kern.mods[l]
					for qb := 0; qb < kern.Kp; qb++ {
						b0, b1 := qb*S, (qb+1)*S
						for c := w0; c < w1; c++ {
							k := c - c0 // products so far in the group's accumulators
							for f := f0; f < f1; f++ {
								yb := y
								if cached(f) {
									yb = plan.polys[f][c].Coeffs[l][b0:b1]
								} else {
									kern.block(tabs[f-f0], l, qb, idx[f-f0][(c-w0)*S:(c-w0+1)*S], y)
								}
								for i, w := range vs {
									for comp := 0; comp < 2; comp++ {
										accs[i*2+comp] = acc[(((f-f0)*len(vs)+i)*2+comp)*L+l][2*b0 : 2*b1]
										ins[i*2+comp] = w.Cts[c].Value[comp].Coeffs[l][b0:b1]
									}
								}
								macc(accs, ins, yb, k == 0)
								if (k+1)%kern.foldEvery == 0 {
									for _, a := range accs {
										fold(a, m.q, m.qInv)
									}
								}
							}
						}
					}
				}
			}
			for f := f0; f < f1; f++ {
				for i := range vs {
					out := rlwe.NewCiphertext(p.params.ckks, 1, level)
					out.IsNTT = true
					out.Scale = vs[i].Cts[0].Scale
					for comp := 0; comp < 2; comp++ {
						for l := 0; l < L; l++ {
							a, m := acc[(((f-f0)*len(vs)+i)*2+comp)*L+l], kern.mods[l]
							dst := out.Value[comp].Coeffs[l]
							for j := range dst {
								dst[j] = redc128(a[2*j], a[2*j+1], m.q, m.qInv)
							}
						}
					}
					sparse[(i*G+g)*F+f] = out
				}
			}
		}
	})
	return sparse
}

// histFeatures features share each read of an input block; histWindow
// chunks have their table columns prepared at once.
const (
	histFeatures = 4
	histWindow   = 32
)

// parallelDynamic runs body on every worker; next hands out the work items
// 0..n-1 one at a time, so that items of different sizes balance.
func parallelDynamic(n int, body func(next func() (int, bool))) {
	var counter atomic.Int64
	next := func() (int, bool) {
		i := int(counter.Add(1)) - 1
		return i, i < n
	}
	parallelFor(min(n, runtime.GOMAXPROCS(0)), func(lo, hi int) {
		for range hi - lo {
			body(next)
		}
	})
}

// histKernel builds the transformed 0/1 polynomials of the histogram kernel
// without a generic NTT, and multiplies them into 128-bit accumulators.
//
// The coefficients of P(X) = sum_j sum_{b >= bin_j} X^(S*pos(b) - (j - start))
// with the same residue r modulo S form a vector of K' = N/S values that
// depends only on the bin of one value j (r = 0 for j = start, r = S - (j -
// start) otherwise). The first log2(K') stages of lattigo's Cooley-Tukey NTT
// only combine coefficients of one residue class, with twiddles that depend
// on the position within the class, so their output is a table lookup: for
// each (bin, r = 0 or not) the class vector after those stages. The last
// log2(S) stages run on blocks of S coefficients, one block per table row,
// while the block is in L1. The result equals lattigo's NTT of the same
// polynomial exactly (same values mod q, fully reduced).
type histKernel struct {
	N, S, Kp, K int
	mods        []histMod
	foldEvery   int // products an accumulator holds before a reduction
}

type histMod struct {
	q, qInv uint64
	roots   []uint64 // lattigo's forward NTT roots (bit-reversed, Montgomery form)
}

// histTable is the output of the first log2(K') NTT stages per modulus,
// laid out [block][2*(K+1)]: entry r0*(K+1)+bin for the class of r = 0
// (r0 = 0) or r != 0 (r0 = 1) and bin in [0, K] (K: counts in no bin).
// tw holds the same entries times the twiddle of the block's next stage,
// so that stage needs no multiplication.
type histTable struct{ t, tw [][]uint64 }

func newHistKernel(rq *ring.Ring, K, S int) *histKernel {
	N := rq.N()
	k := &histKernel{N: N, S: S, Kp: N / S, K: K, foldEvery: 16}
	for _, s := range rq.SubRings[:rq.Level()+1] {
		k.mods = append(k.mods, histMod{q: s.Modulus, qInv: s.MRedConstant, roots: s.RootsForward})
		// 128-bit sums of products below q^2 stay below q*2^64 for 2^64/q terms.
		k.foldEvery = min(k.foldEvery, int(^uint64(0)/s.Modulus)-1)
	}
	return k
}

// table returns the first-stage table for a bin permutation (nil: none).
func (k *histKernel) table(ones montOnes, perm []int) histTable {
	W := 2 * (k.K + 1)
	t := histTable{t: make([][]uint64, len(k.mods)), tw: make([][]uint64, len(k.mods))}
	x := make([]uint64, k.Kp)
	for l, m := range k.mods {
		t.t[l], t.tw[l] = make([]uint64, k.Kp*W), make([]uint64, k.Kp*W)
		for r0 := 0; r0 < 2; r0++ {
			for bin := 0; bin <= k.K; bin++ {
				clear(x)
				for b := bin; b < k.K; b++ {
					pos := b
					if perm != nil {
						pos = perm[b]
					}
					switch {
					case r0 == 0:
						x[pos] = ones.one[l]
					case pos > 0: // X^(S*pos - off) = X^(S*(pos-1) + (S - off))
						x[pos-1] = ones.one[l]
					default: // X^(-off) = -X^(N - off)
						x[k.Kp-1] = ones.minusOne[l]
					}
				}
				for mm := 1; mm < k.Kp; mm <<= 1 {
					h := k.Kp / (2 * mm)
					for i := 0; i < mm; i++ {
						F := m.roots[mm+i]
						for j := 2 * i * h; j < 2*i*h+h; j++ {
							u, v := x[j], ring.MRed(x[j+h], F, m.q, m.qInv)
							x[j], x[j+h] = ring.CRed(u+v, m.q), ring.CRed(u+m.q-v, m.q)
						}
					}
				}
				for qb := 0; qb < k.Kp; qb++ {
					t.t[l][qb*W+r0*(k.K+1)+bin] = x[qb]
					t.tw[l][qb*W+r0*(k.K+1)+bin] = ring.MRed(x[qb], m.roots[k.Kp+qb], m.q, m.qInv)
				}
			}
		}
	}
	return t
}

// chunkIndex writes the table column of each residue r of the chunk of
// values [start, end) of bins (values beyond end count in no bin).
func (k *histKernel) chunkIndex(idx []uint16, bins []uint8, start, end int) {
	for r := range idx {
		off := (k.S - r) % k.S
		bin := k.K
		if j := start + off; j < end {
			bin = min(int(bins[j]), k.K)
		}
		if r != 0 {
			bin += k.K + 1
		}
		idx[r] = uint16(bin)
	}
}

// block writes into y (S values) block qb of the transformed polynomial at
// modulus l, fully reduced. S is at least 32 (K at most 256).
func (k *histKernel) block(t histTable, l, qb int, idx []uint16, y []uint64) {
	m := k.mods[l]
	Q, qInv, twoQ := m.q, m.qInv, 2*m.q
	W := 2 * (k.K + 1)
	row, roww := t.t[l][qb*W:qb*W+W], t.tw[l][qb*W:qb*W+W]
	S := k.S
	y, idx = y[:S], idx[:S]
	// Values stay below 4q: each butterfly reduces its first input below 2q.
	// The first stage reads the tables.
	h := S / 2
	for j, c := range idx[:h] {
		u, v := row[c], roww[idx[j+h]]
		y[j], y[j+h] = u+v, u+twoQ-v
	}
	mm := 2 * k.Kp
	for h = S / 4; h >= 8; h >>= 1 {
		roots := m.roots[mm+qb*(S/(2*h)):]
		for i, j1 := 0, 0; j1 < S; i, j1 = i+1, j1+2*h {
			F := roots[i]
			for j := j1; j < j1+h; j += 8 {
				x, z := (*[8]uint64)(y[j:j+8]), (*[8]uint64)(y[j+h:j+h+8])
				bfly(&x[0], &z[0], F, Q, qInv, twoQ)
				bfly(&x[1], &z[1], F, Q, qInv, twoQ)
				bfly(&x[2], &z[2], F, Q, qInv, twoQ)
				bfly(&x[3], &z[3], F, Q, qInv, twoQ)
				bfly(&x[4], &z[4], F, Q, qInv, twoQ)
				bfly(&x[5], &z[5], F, Q, qInv, twoQ)
				bfly(&x[6], &z[6], F, Q, qInv, twoQ)
				bfly(&x[7], &z[7], F, Q, qInv, twoQ)
			}
		}
		mm <<= 1
	}
	// h = 4, 2, 1: eight values at a time.
	r4, r2, r1 := m.roots[mm+qb*(S/8):], m.roots[2*mm+qb*(S/4):], m.roots[4*mm+qb*(S/2):]
	for j := 0; j < S; j += 8 {
		x := (*[8]uint64)(y[j : j+8])
		F := r4[j/8]
		bfly(&x[0], &x[4], F, Q, qInv, twoQ)
		bfly(&x[1], &x[5], F, Q, qInv, twoQ)
		bfly(&x[2], &x[6], F, Q, qInv, twoQ)
		bfly(&x[3], &x[7], F, Q, qInv, twoQ)
		F0, F1 := r2[j/4], r2[j/4+1]
		bfly(&x[0], &x[2], F0, Q, qInv, twoQ)
		bfly(&x[1], &x[3], F0, Q, qInv, twoQ)
		bfly(&x[4], &x[6], F1, Q, qInv, twoQ)
		bfly(&x[5], &x[7], F1, Q, qInv, twoQ)
		f := (*[4]uint64)(r1[j/2 : j/2+4])
		bfly(&x[0], &x[1], f[0], Q, qInv, twoQ)
		bfly(&x[2], &x[3], f[1], Q, qInv, twoQ)
		bfly(&x[4], &x[5], f[2], Q, qInv, twoQ)
		bfly(&x[6], &x[7], f[3], Q, qInv, twoQ)
		for i, v := range x {
			if v >= twoQ {
				v -= twoQ
			}
			if v >= Q {
				v -= Q
			}
			x[i] = v
		}
	}
}

// bfly is lattigo's lazy Cooley-Tukey butterfly on values below 4q.
func bfly(x, z *uint64, F, Q, qInv, twoQ uint64) {
	u := *x
	if u >= twoQ {
		u -= twoQ
	}
	v := ring.MRedLazy(*z, F, Q, qInv)
	*x, *z = u+v, u+twoQ-v
}

// poly writes the whole transformed polynomial of one chunk into poly.
func (k *histKernel) poly(t histTable, idx []uint16, poly ring.Poly) {
	for l := range k.mods {
		for qb := 0; qb < k.Kp; qb++ {
			k.block(t, l, qb, idx, poly.Coeffs[l][qb*k.S:(qb+1)*k.S])
		}
	}
}

// macc adds the 128-bit products as[i][j]*y[j] to accs[i] (hi, lo pairs);
// set overwrites accs instead. Four products per coefficient share each
// load of y.
func macc(accs, as [][]uint64, y []uint64, set bool) {
	for len(as) >= 4 {
		macc4(accs[0], accs[1], accs[2], accs[3], as[0], as[1], as[2], as[3], y, set)
		accs, as = accs[4:], as[4:]
	}
	for i := range as {
		macc1(accs[i], as[i], y, set)
	}
}

func macc1(acc, a, y []uint64, set bool) {
	a = a[:len(y)]
	acc = acc[:2*len(y)]
	if set {
		for j, yj := range y {
			acc[2*j], acc[2*j+1] = bits.Mul64(a[j], yj)
		}
		return
	}
	for j, yj := range y {
		hi, lo := bits.Mul64(a[j], yj)
		var c uint64
		acc[2*j+1], c = bits.Add64(acc[2*j+1], lo, 0)
		acc[2*j] += hi + c
	}
}

func macc4(acc0, acc1, acc2, acc3, a0, a1, a2, a3, y []uint64, set bool) {
	n := len(y)
	a0, a1, a2, a3 = a0[:n], a1[:n], a2[:n], a3[:n]
	acc0, acc1, acc2, acc3 = acc0[:2*n], acc1[:2*n], acc2[:2*n], acc3[:2*n]
	if set {
		for j, yj := range y {
			acc0[2*j], acc0[2*j+1] = bits.Mul64(a0[j], yj)
			acc1[2*j], acc1[2*j+1] = bits.Mul64(a1[j], yj)
			acc2[2*j], acc2[2*j+1] = bits.Mul64(a2[j], yj)
			acc3[2*j], acc3[2*j+1] = bits.Mul64(a3[j], yj)
		}
		return
	}
	for j, yj := range y {
		var c uint64
		hi, lo := bits.Mul64(a0[j], yj)
		acc0[2*j+1], c = bits.Add64(acc0[2*j+1], lo, 0)
		acc0[2*j] += hi + c
		hi, lo = bits.Mul64(a1[j], yj)
		acc1[2*j+1], c = bits.Add64(acc1[2*j+1], lo, 0)
		acc1[2*j] += hi + c
		hi, lo = bits.Mul64(a2[j], yj)
		acc2[2*j+1], c = bits.Add64(acc2[2*j+1], lo, 0)
		acc2[2*j] += hi + c
		hi, lo = bits.Mul64(a3[j], yj)
		acc3[2*j+1], c = bits.Add64(acc3[2*j+1], lo, 0)
		acc3[2*j] += hi + c
	}
}

// redc128 returns (hi*2^64 + lo) / 2^64 mod q for hi < 2q (Montgomery
// reduction), fully reduced.
func redc128(hi, lo, q, qInv uint64) uint64 {
	h, _ := bits.Mul64(lo*qInv, q)
	r := hi - h + q
	if r >= q {
		r -= q
	}
	if r >= q {
		r -= q
	}
	return r
}

// fold reduces every accumulator of acc to one residue, kept in the high
// word so that the sum is unchanged modulo q (x*2^64 / 2^64 = x).
func fold(acc []uint64, q, qInv uint64) {
	for j := 0; j < len(acc); j += 2 {
		acc[j], acc[j+1] = redc128(acc[j], acc[j+1], q, qInv), 0
	}
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
