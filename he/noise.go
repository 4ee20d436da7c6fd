package he

import (
	"math"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Noise analysis of the histogram kernel (Hist13), the bound its flooding is
// sized from. The derivation is in he/doc.go ("The noise bound of a
// histogram"); the functions here are its formulas, and noise_test.go checks
// them against the set's LogNoiseBound and against measured noise.

// errorBound is the bound of every coefficient of lattigo's error
// distribution (a discrete Gaussian of sigma 3.2 cut at 6 sigma); errorVar is
// its variance (at most sigma^2).
const (
	errorBound = rlwe.DefaultNoiseBound
	errorVar   = rlwe.DefaultNoise * rlwe.DefaultNoise
	// secretVar is the variance of a coefficient of the collective secret
	// s = s_bank + s_center, two ternary shares with P(+-1) = 1/3 each.
	secretVar = 2 * 2.0 / 3
)

// minHistBins is the fewest bins the histogram kernel lays out
// (histStride): with K' >= 2 an input chunk holds at most N/2 values, and
// the packing of a sparse product at most log2(N/2) rounds of
// automorphisms, which bounds its key-switching noise. (It was 8, N/8 and
// 2^24.4, until package boost's parted layouts sent 2 and 4 bins per
// feature part to carry more rows per ciphertext.)
const minHistBins = 2

// histNoiseSigma returns a sub-Gaussian parameter of one coefficient of the
// noise of a rerandomized histogram ciphertext whose groups hold at most
// rows values each, in input chunks of chunk values: the sum of
//
//   - the fresh part, sum over the group's ceil(rows/chunk) chunks of
//     e_c * P_c, where e_c is the bank's seeded encryption error (independent
//     coefficients in [-errorBound, errorBound]) and P_c a 0/1 polynomial
//     with at most N nonzero coefficients: each output coefficient is a
//     signed sum of at most chunks*N independent bounded terms, sub-Gaussian
//     with parameter errorBound*sqrt(chunks*N) by Hoeffding's lemma;
//   - the packing: Evaluator.Pack pre-scales by 2^-L mod Q, so the kept
//     coefficients carry the sparse product's noise unchanged, and adds the
//     noise of its L = rounds rounds of automorphisms (log2(S), S the
//     stride: log2(chunk) for pairs of entries in chunks of S/2, log2(S)
//     for one entry per product), each round's key-switching noise doubled
//     by every later round;
//   - the rerandomization, one public-key encryption of zero.
//
// The key-switching and rerandomization terms use the independence
// heuristic of the CKKS noise literature (Costache, Curtis, Hales, Murphy,
// Ogilvie, Player, "On the precision loss in approximate homomorphic
// encryption", SAC 2023): the decomposed digits of c1 are uniform modulo
// their prime and independent of the key errors, so each term is a sum of
// independent products whose variance adds up.
func histNoiseSigma(p Params, rows, chunk, rounds int) float64 {
	return histNoiseSigmaDrop(p, rows, chunk, rounds, 0)
}

// histNoiseSigmaDrop is histNoiseSigma for inputs whose c0 coefficients
// were rounded by drop bits on the wire (MarshalSeededVectorRounded): each
// input coefficient's error is then e + delta, bounded by errorBound +
// 2^(drop-1), and the fresh part's Hoeffding parameter grows to match.
func histNoiseSigmaDrop(p Params, rows, chunk, rounds, drop int) float64 {
	N := float64(p.N())
	chunks := math.Ceil(float64(rows) / float64(chunk))
	termBound := errorBound
	if drop > 0 {
		termBound += math.Exp2(float64(drop - 1))
	}
	fresh := termBound * math.Sqrt(chunks*N)

	level := p.set.DecryptLevel
	q, P := 0.0, math.Inf(1)
	for _, m := range p.ckks.Q()[:level+1] {
		q = math.Max(q, float64(m))
	}
	for _, m := range p.ckks.P() {
		P = math.Min(P, float64(m))
	}
	digits := float64(level + 1)
	// One key switch: sum over the digits of d_i * e_i / P with d_i uniform
	// in [-q/2, q/2) and e_i the collective key's error (two parties' errors
	// summed), plus the rounding of the division by P, r0 + r1*s with r
	// uniform in [-1/2, 1/2).
	keySwitch := digits*N*(q/P)*(q/P)/12*(2*errorVar) + (1+N*secretVar)/12
	L := float64(rounds)
	// Round i's keySwitch noise is doubled by each of the L-1-i later rounds
	// (variance x4) and 2^(L-1-i) switches of round i reach each output: a
	// variance of keySwitch * sum_{m<L} 8^m.
	packing := keySwitch * (math.Pow(8, L) - 1) / 7
	// An encryption of zero under the collective public key: v*e_pk + e0 +
	// e1*s, v ternary (variance 2/3), e_pk two parties' errors.
	rerandomize := N*(2.0/3)*(2*errorVar) + errorVar + N*secretVar*errorVar
	return fresh + math.Sqrt(packing+rerandomize)
}

// HistNoiseBound returns log2 of the bound on the infinity norm of the noise
// of every coefficient of every histogram a run decrypts under p (Hist13),
// for groups of at most rows values: the worst input chunk the kernel may
// use (HistogramChunk, for any number of bins), times the sub-Gaussian tail
// factor sqrt(2 ln(2M/delta)) for M = 2^LogMaxDecrypted coefficients and a
// failure probability delta = 2^-41 over all of them.
func HistNoiseBound(p Params, rows int) float64 {
	worst := 0.0
	for S := p.N() / minHistBins; S >= 2; S /= 2 {
		// Chunks of S/2 pack in log2(S) rounds when a ciphertext holds at
		// most S/2 entries (one per product), in log2(S/2) otherwise: the
		// former is the worse.
		L := bits.Len(uint(S)) - 1
		for _, chunk := range []int{S, S / 2} {
			worst = math.Max(worst, histNoiseSigma(p, rows, chunk, L))
		}
	}
	return math.Log2(worst * tailFactor(p.set.LogMaxDecrypted))
}

// tailFactor is t/sigma such that a sub-Gaussian variable of parameter sigma
// exceeds t in absolute value with probability at most 2^-41 / M, M =
// 2^logM: 2 exp(-t^2 / (2 sigma^2)) <= 2^-(41+logM).
func tailFactor(logM int) float64 {
	return math.Sqrt(2 * (float64(logM+StatisticalSecurity+1) + 1) * math.Ln2)
}

// Noise analysis of Linear14's kernels: the encrypted scores of package
// score (ScoreNoiseBound, which sizes Linear14's own flooding) and the
// gradients X^T d and loss sums of vertical LR with revealed gradients
// (XtdNoiseBound, SlotSumNoiseBound, from which such a run sizes its own
// flooding in a copy of the set). The derivation is in he/doc.go ("The
// noise bounds of Linear14"). These bounds are on second moments, E[e^2]
// for every coefficient e of the noise, which is what the flooding's
// composition needs (he/doc.go), not on the largest coefficient: no tail
// factor. The
// kernels sum rotated copies of one ciphertext, so the terms are followed
// in the slot domain, where a product by a plaintext acts slot by slot and
// the noise of a polynomial whose coefficients are uncorrelated with
// variance v has slots uncorrelated with E|slot|^2 = N v, and turned back
// into a coefficient bound at the end without any assumption on how the
// slots correlate.

// roundVar is E[c^2] for a coefficient c of r0 + r1*s, the rounding a
// rescale, a key switch or a public-key encryption leaves: r uniform in
// [-1/2, 1/2) and independent of the collective secret s (the heuristic of
// histNoiseSigma), whose coefficients are independent with E[s_j^2] =
// secretVar; the coefficients of r1*s are then uncorrelated.
func roundVar(p Params) float64 {
	return (1 + float64(p.N())*secretVar) / 12
}

// freshVar is E[c^2] for a coefficient c of the noise of a public-key
// encryption (Encrypt, EncryptAt, EncryptComplexAt, Rerandomize). lattigo
// draws the encryption of zero v*pk + (e0, e1) over Q*P and divides it by
// the first prime P0 of P: what remains is the division's rounding plus
// (v*e_pk + e0 + e1*s) / P0, e_pk the collective key's error (both
// parties' errors summed), v ternary.
func freshVar(p Params) float64 {
	N := float64(p.N())
	raw := N*(2.0/3)*(2*errorVar) + errorVar + N*secretVar*errorVar
	if len(p.ckks.P()) == 0 {
		return raw
	}
	P0 := float64(p.ckks.P()[0])
	return roundVar(p) + raw/(P0*P0)
}

// keySwitchVar is E[c^2] for a coefficient c of the noise one key switch (a
// rotation, hoisted or not, or the conjugation) adds at the given level:
// sum_i d_i e_i / P over the digits d_i of c1, each a group of len(P)
// primes of Q (lattigo's RNS decomposition) and taken as uniform modulo
// its group's product D_i, e_i the Galois key's error (both parties'
// errors summed), plus the rounding of the division by P.
func keySwitchVar(p Params, level int) float64 {
	N := float64(p.N())
	P := 1.0
	for _, m := range p.ckks.P() {
		P *= float64(m)
	}
	group := max(len(p.ckks.P()), 1)
	v := roundVar(p)
	qs := p.ckks.Q()[:level+1]
	for i := 0; i < len(qs); i += group {
		D := 1.0
		for _, m := range qs[i:min(i+group, len(qs))] {
			D *= float64(m)
		}
		v += N * (D / P) * (D / P) / 12 * (2 * errorVar)
	}
	return v
}

// CombineWeight returns the weight W of the plaintext factors of Combine
// (re[k][i], the factor of term k in slot i; im nil) or CombinePairs (the
// factor of a pair's a + ib is (re - i im)/2): the sum over the terms of
// the largest squared magnitude of a term's factor. The noise of a
// combination grows with sqrt(W), and the kernels refuse a weight past
// the set's MaxCombineWeight (ErrLimit). A factor missing from im counts
// as 0; a NaN factor makes the weight NaN, which no limit admits.
func CombineWeight(re, im [][]float64) float64 {
	w := 0.0
	for k, row := range re {
		m := 0.0
		for i, r := range row {
			c := r * r
			if im != nil {
				b := 0.0
				if k < len(im) && i < len(im[k]) {
					b = im[k][i]
				}
				c = (r*r + b*b) / 4
			}
			if c > m || math.IsNaN(c) {
				m = c
			}
		}
		w += m
	}
	return w
}

// scoreNoiseVar bounds E[c^2] for every coefficient c of the noise of a
// score vector as package score decrypts it, for combination weights up
// to weight: the larger of
//
//   - a linear model's: the center's encryption at the decryption level,
//     the bank's plaintext partial scores added (no noise), and the bank's
//     rerandomization: two fresh noises;
//   - a tree ensemble's (CombinePairs): the center's path indicators
//     encrypted one level up, each multiplied by the bank's plaintext
//     factors and rescaled. A fresh noise e times a plaintext pt encoded
//     at the scale q of the prime it is rescaled by has coefficients with
//     E[c^2] = freshVar ||pt||^2 / q^2, and ||pt||^2 / q^2 is the mean over
//     the slots of the factor's squared magnitude (Parseval for the
//     canonical embedding), at most its largest: the terms, independent,
//     add up to at most freshVar W, plus the rescale's rounding. Adding
//     the conjugate adds to each coefficient the image of another, which
//     may correlate with it: at most four times the second moment. Then
//     the conjugation's key switch and the rerandomization.
//
// A model without center splits has the bank encrypt its own scores:
// fresh noise and the rerandomization, as a linear model's.
func scoreNoiseVar(p Params, weight float64) float64 {
	lvl := p.set.DecryptLevel
	linear := 2 * freshVar(p)
	pairs := 4*(freshVar(p)*weight+roundVar(p)) + keySwitchVar(p, lvl) + freshVar(p)
	return math.Max(linear, pairs)
}

// ScoreNoiseBound returns log2 of the bound on the root mean square of
// every coefficient of the noise of every score vector package score
// decrypts under p (Linear14), for combination weights up to weight
// (CombineWeight).
func ScoreNoiseBound(p Params, weight float64) float64 {
	return math.Log2(scoreNoiseVar(p, weight)) / 2
}

// xtdNoiseVar bounds E[c^2] for every coefficient c of the noise of X^T d
// as vertical LR with revealed gradients decrypts it: d = Combine of the
// center's encrypted powers (fresh at the top level) with the bank's
// factors of weight up to weight, rerandomized; then MulTransposed by a
// matrix of rows x cols whose every column's sum of squares is at most
// squares; then rerandomized. In the slot domain:
//
//   - d: each slot's noise is the powers' noises times the factors, plus
//     the rescale's rounding and the rerandomization: E|slot|^2 at most
//     N (freshVar (1 + W) + roundVar).
//   - the product: after the fold every slot of a row block holds one
//     output row's sum over the batch's rows of x_i times d's slot i, x_i
//     the complex-packed pair of entries (|x_i|^2 the sum of two columns'
//     squares), each slot of d once: at most 2 squares times d's. Each
//     baby-step rotation adds a key switch's noise, whose slots meet the
//     same factors, each row's at most once: at most 2 squares N
//     keySwitchVar.
//   - after the products: the rescale of each giant step's sum and each
//     giant-step rotation, Slots/b1 of each reaching a slot through the
//     fold, and the fold's own rotations, Slots/B (b1 and B the matrix
//     shape's baby step and block).
//
// A coefficient is (2/N) Re sum_j eps_j zeta_j^-m over the N/2 slots eps_j
// of the noise, so its root mean square is at most the largest slot's
// (Minkowski), however the slots correlate: the fold makes every slot of a
// residue class equal, and two rows of a block may share their columns.
// The final rerandomization, independent, adds its own.
func xtdNoiseVar(p Params, rows, cols int, squares, weight float64) float64 {
	N, slots := float64(p.N()), float64(p.Slots())
	_, block, _, baby := matrixShape(p, rows, cols)
	lvl := p.set.DecryptLevel
	perRow := freshVar(p)*(1+weight) + roundVar(p) + keySwitchVar(p, lvl+1)
	after := slots/float64(baby)*(roundVar(p)+keySwitchVar(p, lvl)) + slots/float64(block)*keySwitchVar(p, lvl)
	return N*(2*squares*perRow+after) + freshVar(p)
}

// XtdNoiseBound returns log2 of the bound on the root mean square of every
// coefficient of the noise of a gradient X^T d as vertical LR with
// revealed gradients decrypts it under p (xtdNoiseVar): X of rows x cols
// with every column's sum of squares over the rows at most squares, d
// combined with factors of weight at most weight.
func XtdNoiseBound(p Params, rows, cols int, squares, weight float64) float64 {
	return math.Log2(xtdNoiseVar(p, rows, cols, squares, weight)) / 2
}

// XtdCiphertexts returns the number of ciphertexts of X^T v for a matrix
// of rows x cols from PrepareMatrix (its row blocks): a run that decrypts
// such products counts N coefficients for each against its budget
// (ParamSet.LogMaxDecrypted).
func XtdCiphertexts(p Params, rows, cols int) int {
	_, _, blocks, _ := matrixShape(p, rows, cols)
	return blocks
}

// slotSumNoiseVar bounds E[c^2] for every coefficient c of the noise of a
// sum of SumSlots results (the loss of vertical LR with revealed
// gradients), each over a Combine of fresh powers with factors of weight
// at most weight, not rerandomized: rows rows in all, in chunks
// ciphertexts, over sums batches; then rerandomized. In the slot domain
// every row's slot brings at most N freshVar W, every slot of every chunk
// the rescale's rounding, and every SumSlots at most Slots key switches'
// noise through its log2(Slots) rotations (each doubled by the later
// ones); the coefficient bound is the slot bound, as for X^T d.
func slotSumNoiseVar(p Params, rows, chunks, sums int, weight float64) float64 {
	N, slots := float64(p.N()), float64(p.Slots())
	lvl := p.set.DecryptLevel
	return N*(float64(rows)*freshVar(p)*weight+float64(chunks)*slots*roundVar(p)+float64(sums)*slots*keySwitchVar(p, lvl+1)) + freshVar(p)
}

// SlotSumNoiseBound returns log2 of the bound on the root mean square of
// every coefficient of the noise of a sum of sums SumSlots results over
// rows rows in chunks ciphertexts, combined with factors of weight at most
// weight (slotSumNoiseVar).
func SlotSumNoiseBound(p Params, rows, chunks, sums int, weight float64) float64 {
	return math.Log2(slotSumNoiseVar(p, rows, chunks, sums, weight)) / 2
}
