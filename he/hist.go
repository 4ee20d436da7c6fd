package he

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// HistogramChunk is the number of samples per ciphertext the histogram kernel
// takes for K bins, entries = groups*features histograms and rows input
// values: S = N/K' (K' the power of two at or above K, at least 2) or S/2. The samples
// of a chunk sit in its first coefficients, and the K bin sums of one
// (group, feature) entry land at coefficients 0, S, 2S, ...; with chunks of
// S/2 a second entry's land at S/2, S+S/2, ... of the same product, which
// halves the packing (about one automorphism per sparse product) for twice
// the input ciphertexts. S/2 is chosen when entries*S >= rows, where the
// packing saved outweighs the extra encryptions (measured: an automorphism
// costs about three seeded encryptions and joins). Encrypt the input with
// EncryptCoeffs(values, chunk) or EncryptCoeffsSeeded.
func HistogramChunk(p Params, bins, entries, rows int) int {
	S := histStride(p, bins)
	if entries*S >= rows {
		return S / 2
	}
	return S
}

// HistogramCiphertexts is the number of ciphertexts in each output vector
// of Histograms for K bins and entries = groups*features histograms (S
// entries per ciphertext): what a decryption of one of them costs in
// coefficients, N each.
func HistogramCiphertexts(p Params, bins, entries int) int {
	S := histStride(p, bins)
	return (entries + S - 1) / S
}

// histStride is S = N/K', the coefficient distance between the bins of one
// histogram, K' the power of two at or above the bins and at least
// minHistBins (which bounds the packing's noise, see histNoiseSigma).
func histStride(p Params, bins int) int {
	k := minHistBins
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
	// be a multiple of the inputs' chunk. Nil means one group of all values.
	Groups []int
	// Perm, when set, permutes each feature's bins in the output: cumulative
	// bin b of feature f is reported at position Perm[f][b] (the secret
	// per-level shuffle of SecureBoost).
	Perm [][]int
	// Together packs the histograms of all the inputs into one vector,
	// input i's values after input i-1's, when they fit in one ciphertext
	// (HistogramsTogether): one ciphertext to send or decrypt instead of
	// one per input. When they do not, one vector per input, as without.
	Together bool
}

// Histograms returns, for each input vector, group g, feature f and bin b,
// the cumulative sum of the encrypted values j of group g whose bin for
// feature f is at most b: one CoeffGrid vector per input whose value
// (g*F + f)*K + b is that sum. Several inputs (the gradients g and hessians h
// of SecureBoost) share the binning work.
//
// Every input is a Coeff vector of one length with one chunk C: S = N/K' or
// S/2 (HistogramChunk picks it). Each chunk is multiplied by the 0/1
// polynomial P(X) = sum_j sum_{b >= bin_j} X^(S*b - j), plus
// sum_j sum_{b >= bin'_j} X^(S*b + C - j) for a second (group, feature) entry
// when C = S/2, which puts every cumulative bin sum of the first at
// coefficient S*b and of the second at S*b + C in one plaintext product
// (exact integer plaintext, no rescaling; the cross terms of a chunk of C
// values never reach those coefficients). The sparse results are then packed
// into ciphertexts of S entries with automorphisms, about one per sparse
// result; the packing zeroes every coefficient that is not a bin sum, so
// only the sums are revealed by a decryption.
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
	chunk int
	level int
	// units[u][c] holds the polynomials of the lanes of kernel unit u (see
	// histUnits) for chunk c, laid out [modulus][coefficient][lane]; nil
	// when not cached.
	units [][][]uint64
	bytes int64
}

// Bytes returns the memory the plan's cache holds.
func (pl *HistogramPlan) Bytes() int64 { return pl.bytes }

// PrepareHistograms builds the plan of spec (one group: Groups must be nil)
// for vectors of rows values at the decryption level, in chunks of
// HistogramChunk(K, features, rows), caching at most
// budget bytes of polynomials (2*N*8 bytes per chunk and pair of features,
// in units of eight pairs).
func (p *Party) PrepareHistograms(spec HistogramSpec, rows int, budget int64) (*HistogramPlan, error) {
	return p.PrepareHistogramsChunk(spec, rows, HistogramChunk(p.params, spec.K, len(spec.Bins), rows), budget)
}

// HistogramStride returns S = N/K' for K bins (K' the power of two at or
// above K, at least 2): the most values an input chunk of Histograms holds,
// and the distance between one histogram's bins in its sparse products.
func HistogramStride(p Params, bins int) int { return histStride(p, bins) }

// PrepareHistogramsChunk is PrepareHistograms for inputs in chunks of chunk
// values, S or S/2 (HistogramStride), chosen by the caller instead of
// HistogramChunk: S when the inputs' bytes on the wire matter more than
// the packing's automorphisms.
func (p *Party) PrepareHistogramsChunk(spec HistogramSpec, rows, chunk int, budget int64) (*HistogramPlan, error) {
	if spec.Groups != nil {
		return nil, fmt.Errorf("%w: a histogram plan covers one group of rows in their original order", ErrShape)
	}
	S, C := histStride(p.params, spec.K), chunk
	if C != S && C != S/2 {
		return nil, fmt.Errorf("%w: histogram chunk %d for %d bins, want %d or %d", ErrShape, C, spec.K, S, S/2)
	}
	if err := checkHistSpec(spec, rows); err != nil {
		return nil, err
	}
	level := p.params.set.DecryptLevel
	rq := p.params.ckks.RingQ().AtLevel(level)
	chunks := (rows + C - 1) / C
	L, N := level+1, rq.N()
	perUnit := int64(8*L*N*histLanes) * int64(chunks)
	units := histUnits(len(spec.Bins), len(spec.Bins), S, C)
	pl := &HistogramPlan{spec: spec, rows: rows, chunk: C, level: level, units: make([][][]uint64, len(units))}
	kern := newHistKernel(rq, spec, S, C)
	cached := min(len(units), int(budget/perUnit))
	parallelFor(cached, func(lo, hi int) {
		idx := make([]uint16, S*histLanes)
		for u := lo; u < hi; u++ {
			tabs := kern.tables(&units[u])
			pl.units[u] = make([][]uint64, chunks)
			for c := range chunks {
				kern.chunkIndex(idx, tabs, &units[u], 0, c*C, min((c+1)*C, rows))
				y := make([]uint64, L*N*histLanes)
				for l := range L {
					for qb := range kern.Kp {
						kern.block(tabs, l, qb, idx, y[(l*N+qb*S)*histLanes:(l*N+qb*S+S)*histLanes])
					}
				}
				pl.units[u][c] = y
			}
		}
	})
	pl.bytes = int64(cached) * perUnit
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
	S := histStride(p.params, spec.K)
	v := vs[0]
	C := v.Chunk
	for i, w := range vs {
		if err := w.check(p.params); err != nil {
			return nil, err
		}
		if w.Layout != Coeff || (w.Chunk != S && w.Chunk != S/2) || w.Chunk != C || w.Len != v.Len {
			return nil, fmt.Errorf("%w: histogram input %d must be a coeff vector of %d values with chunk %d or %d like input 0, got %s of %d with chunk %d",
				ErrLayout, i, v.Len, S, S/2, w.Layout, w.Len, w.Chunk)
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
		if groups[i] < groups[i-1] || groups[i] > v.Len || (i < len(groups)-1 && groups[i]%C != 0) || groups[0] != 0 {
			return nil, fmt.Errorf("%w: group boundaries %v must start at 0, rise, and fall on multiples of %d", ErrShape, groups, C)
		}
	}
	if len(groups) < 2 || groups[len(groups)-1] != v.Len {
		return nil, fmt.Errorf("%w: group boundaries %v must end at %d", ErrShape, groups, v.Len)
	}
	if max := p.params.set.MaxRows; max > 0 {
		for i := 1; i < len(groups); i++ {
			if rows := groups[i] - groups[i-1]; rows > max {
				return nil, fmt.Errorf("%w: histogram group %d sums %d rows, over the %d its noise bound holds for (%s MaxRows)", ErrLimit, i-1, rows, max, p.params.ID())
			}
		}
	}
	G := len(groups) - 1
	level := vs[0].Level()
	for _, w := range vs {
		level = min(level, w.Level())
	}
	if plan != nil && (plan.rows != v.Len || level != plan.level || plan.chunk != C) {
		return nil, fmt.Errorf("%w: plan for %d rows at level %d in chunks of %d, vectors of %d at level %d in chunks of %d", ErrShape, plan.rows, plan.level, plan.chunk, v.Len, level, C)
	}
	GF := G * F
	sparse := p.histSparse(vs, spec, groups, plan, level)

	// Pack the sparse results of S entries (S/C per sparse result) per
	// ciphertext, at the offsets of the CoeffGrid layout.
	perVec := (GF + S - 1) / S
	per := C // sparse results per output ciphertext
	if spec.Together && len(vs) > 1 && histTogether(S, len(vs), GF) {
		return p.packTogether(vs, sparse, spec.K, S, GF, per, level)
	}
	outs := make([]*Vector, len(vs))
	for i := range outs {
		outs[i] = &Vector{Layout: CoeffGrid, Len: GF * spec.K, Chunk: spec.K, Stride: S, Cts: make([]*rlwe.Ciphertext, perVec)}
	}
	// The sparse results hold sums at multiples of C; those of a ciphertext
	// of at most S/2 entries hold one entry each, at multiples of S (the
	// second entry of a pair is absent, its coefficients only noise), and
	// are spread over the whole stride (gridOffset): their packing zeroes
	// every coefficient off the multiples of S, in log2(S) rounds.
	logGap := bits.Len(uint(C)) - 1
	batchOf := func(t int) (map[int]*rlwe.Ciphertext, int) {
		i, c := t/perVec, t%perVec
		batch := map[int]*rlwe.Ciphertext{}
		entries := min(S, GF-c*S)
		gap := logGap
		if entries <= S/2 {
			gap = bits.Len(uint(S)) - 1
		}
		for k := 0; k < per && sparse[(i*perVec+c)*per+k] != nil; k++ {
			// Keyed by the layout offset of its (first) entry.
			batch[gridOffset(S, entries, k)] = sparse[(i*perVec+c)*per+k]
		}
		if len(batch) == 1 { // packing needs two ciphertexts; add an encryption of zero
			zero := rlwe.NewCiphertext(p.params.ckks, 1, level)
			zero.IsNTT, zero.Scale = true, batch[0].Scale
			batch[1] = zero
		}
		return batch, gap
	}
	outputs := len(vs) * perVec
	errs := make([]error, outputs)
	if outputs < runtime.GOMAXPROCS(0) {
		// Fewer outputs than cores (a small level's g and h): each packing's
		// rounds on all cores, one output after the other.
		for t := range outputs {
			batch, gap := batchOf(t)
			outs[t/perVec].Cts[t%perVec], errs[t] = p.pack(batch, gap)
		}
	} else {
		parallelFor(outputs, func(lo, hi int) {
			eval := p.evaluator.ShallowCopy()
			for t := lo; t < hi; t++ {
				batch, gap := batchOf(t)
				outs[t/perVec].Cts[t%perVec], errs[t] = eval.Evaluator.Pack(batch, gap, true)
			}
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("he: packing histograms: %w", err)
	}
	return outs, nil
}

// histTogether says whether the histograms of inputs vectors of entries
// (group, feature) entries each fit in one ciphertext together: at most
// S/2 entries in all, one per sparse product, packed in log2(S) rounds
// like one input's of as few.
func histTogether(S, inputs, entries int) bool { return inputs*entries <= S/2 }

// HistogramsTogether says whether Histograms with Together packs inputs
// vectors' histograms of entries = groups*features entries each, in K
// bins, into one vector: when they fit in one ciphertext.
func HistogramsTogether(p Params, bins, inputs, entries int) bool {
	return inputs > 1 && histTogether(histStride(p, bins), inputs, entries)
}

// packTogether packs every input's sparse results into one CoeffGrid
// ciphertext: input i's entries are groups i*GF .. (i+1)*GF-1 of the
// layout, so the vector holds input 0's values, then input 1's. Each kept
// coefficient carries its own sparse product's noise and the rounds'
// key switching, as for one input of as many entries (histNoiseSigma's
// log2(S) rounds).
func (p *Party) packTogether(vs []*Vector, sparse []*rlwe.Ciphertext, K, S, GF, per, level int) ([]*Vector, error) {
	total := len(vs) * GF
	batch := map[int]*rlwe.Ciphertext{}
	for i := range vs {
		for k := range GF {
			batch[gridOffset(S, total, i*GF+k)] = sparse[i*per+k]
		}
	}
	ct, err := p.pack(batch, bits.Len(uint(S))-1)
	if err != nil {
		return nil, fmt.Errorf("he: packing histograms: %w", err)
	}
	return []*Vector{{Layout: CoeffGrid, Len: total * K, Chunk: K, Stride: S, Cts: []*rlwe.Ciphertext{ct}}}, nil
}

// histSparse returns the sparse products, one per input and slot: input i,
// output ciphertext t and slot k at (i*T + t)*C + k, T the output
// ciphertexts per input, C the input chunk; entries are g*F + f, and slot k
// of ciphertext t holds entry t*S + k, and t*S + C + k too when C = S/2 (nil
// where the first is past G*F).
//
// Work goes by kernel unit (eight slots, see histUnits), handed out to the
// workers one at a time. For each group its entries belong to, a worker walks
// the group's chunks block by block (S coefficients of one modulus): it
// transforms the block of the eight pairs' polynomials at once (or reads the
// plan's) and multiplies it into limb accumulators for every input
// ciphertext component. Accumulators are reduced every histFoldEvery chunks
// and at the end.
func (p *Party) histSparse(vs []*Vector, spec HistogramSpec, groups []int, plan *HistogramPlan, level int) []*rlwe.Ciphertext {
	S, C := histStride(p.params, spec.K), vs[0].Chunk
	F, G := len(spec.Bins), len(groups)-1
	rq := p.params.ckks.RingQ().AtLevel(level)
	N := rq.N()
	kern := newHistKernel(rq, spec, S, C)
	L := level + 1
	units := histUnits(G*F, F, S, C)
	T := (G*F + S - 1) / S
	IC := 2 * len(vs)                 // (input, component) pairs
	span := N * histLimbs * histLanes // accumulator words per pair and modulus
	sparse := make([]*rlwe.Ciphertext, len(vs)*T*C)
	parallelDynamic(len(units), func(next func() (int, bool)) {
		idx := make([]uint16, histWindow*S*histLanes) // [chunk of the window][S][lane]
		acc := make([]uint64, IC*L*span)              // [pair][modulus][coefficient][limb][lane]
		var ybuf [histBatch][]uint64
		for d := range ybuf {
			ybuf[d] = make([]uint64, S*histLanes)
		}
		tmp := make([]uint64, N*histLanes)
		for u, ok := next(); ok; u, ok = next() {
			un := &units[u]
			var planned [][]uint64
			if plan != nil {
				planned = plan.units[u]
			}
			var tabs *histTables
			if planned == nil {
				tabs = kern.tables(un)
			}
			clear(acc)
			done := 0 // chunks accumulated so far
			for _, g := range un.groups {
				c0, c1 := groups[g]/C, (groups[g+1]+C-1)/C
				for w0 := c0; w0 < c1; w0 += histWindow {
					w1 := min(w0+histWindow, c1)
					if planned == nil {
						for c := w0; c < w1; c++ {
							kern.chunkIndex(idx[(c-w0)*S*histLanes:(c-w0+1)*S*histLanes], tabs, un, g, c*C, min((c+1)*C, groups[g+1]))
						}
					}
					for l := 0; l < L; l++ {
						for qb := 0; qb < kern.Kp; qb++ {
							b0 := qb * S
							for c := w0; c < w1; c += histBatch {
								cn := min(histBatch, w1-c)
								var ys, as [histBatch][]uint64
								for d := range cn {
									if planned != nil {
										ys[d] = planned[c+d][(l*N+b0)*histLanes : (l*N+b0+S)*histLanes]
									} else {
										kern.block(tabs, l, qb, idx[(c+d-w0)*S*histLanes:(c+d-w0+1)*S*histLanes], ybuf[d])
										ys[d] = ybuf[d]
									}
								}
								// Reduce when the count crosses a multiple of histFoldEvery.
								fold := (done+c-w0)/histFoldEvery != (done+c-w0+cn)/histFoldEvery
								for pair := range IC {
									a := acc[(pair*L+l)*span+b0*histLimbs*histLanes:][:S*histLimbs*histLanes]
									for d := range cn {
										as[d] = vs[pair/2].Cts[c+d].Value[pair%2].Coeffs[l][b0 : b0+S]
									}
									maccBatch(a, as[:cn], ys[:cn])
									if fold {
										kern.fold(a, l)
									}
								}
							}
						}
					}
					done += w1 - w0
				}
			}
			lanes := 0
			for lanes < histLanes && un.entry[lanes][0] >= 0 {
				lanes++
			}
			dst := make([][]uint64, lanes)
			for i := range vs {
				outs := make([]*rlwe.Ciphertext, lanes)
				for lane := range outs {
					outs[lane] = rlwe.NewCiphertext(p.params.ckks, 1, level)
					outs[lane].IsNTT = true
					outs[lane].Scale = vs[i].Cts[0].Scale
					sparse[(i*T+un.t)*C+un.k0+lane] = outs[lane]
				}
				for comp := 0; comp < 2; comp++ {
					for l := 0; l < L; l++ {
						for lane, out := range outs {
							dst[lane] = out.Value[comp].Coeffs[l]
						}
						kern.reduce(dst, acc[((i*2+comp)*L+l)*span:][:span], l, tmp)
					}
				}
			}
		}
	})
	return sparse
}

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
