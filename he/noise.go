package he

import (
	"math"

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
// (histStride): with K' >= 8 an input chunk holds at most N/8 values, and
// the packing of a sparse product at most log2(N/8) rounds of
// automorphisms, which bounds its key-switching noise.
const minHistBins = 8

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
//     noise of the L = log2(chunk) rounds of automorphisms, each round's
//     key-switching noise doubled by every later round;
//   - the rerandomization, one public-key encryption of zero.
//
// The key-switching and rerandomization terms use the independence
// heuristic of the CKKS noise literature (Costache, Curtis, Hales, Murphy,
// Ogilvie, Player, "On the precision loss in approximate homomorphic
// encryption", SAC 2023): the decomposed digits of c1 are uniform modulo
// their prime and independent of the key errors, so each term is a sum of
// independent products whose variance adds up.
func histNoiseSigma(p Params, rows, chunk int) float64 {
	N := float64(p.N())
	chunks := math.Ceil(float64(rows) / float64(chunk))
	fresh := errorBound * math.Sqrt(chunks*N)

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
	L := math.Log2(float64(chunk))
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
		for _, chunk := range []int{S, S / 2} {
			worst = math.Max(worst, histNoiseSigma(p, rows, chunk))
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
