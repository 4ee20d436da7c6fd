package he

import (
	"errors"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// ErrUnknownParamSet is returned when a parameter-set id is not one of the named sets.
var ErrUnknownParamSet = errors.New("he: unknown parameter set")

// ErrLimit reports an input past the limits a parameter set's noise bound,
// and so its flooding, is derived for (ParamSet.MaxRows, MaxDecrypted).
var ErrLimit = errors.New("he: over the parameter set's limits")

// MaxFeature bounds the magnitude of every feature value the matrix kernels
// (MulVector, MulTransposed, the encrypted scores) take: the noise bound of
// Shared15 and the width of its masks are stated for features in
// [-MaxFeature, MaxFeature], which standardized data clipped at up to
// MaxFeature standard deviations (model.Standardizer.Clip) always is
// (Linear14's gradients, for columns of bounded sums of squares:
// XtdNoiseBound). The protocols refuse a larger value (ErrLimit).
const MaxFeature = 32

// ParamSet is a named, documented CKKS parameter set. Both parties must use the
// same set; the handshake compares ID.
//
// Every set keeps logQP at or below the 128-bit bound of the Homomorphic
// Encryption Standard for a ternary secret (see MaxLogQP), and is sized for the
// flooding that sanitises every decryption share: ciphertexts are decrypted
// at DecryptLevel, where the modulus holds Scale * max|value| plus flooding
// noise of 2^LogFlood, LogFlood = LogNoiseBound + 40 + LogMaxDecrypted/2
// (see LogFlood).
type ParamSet struct {
	// ID names the set on the wire and in model files.
	ID string
	// LogN is log2 of the ring degree.
	LogN int
	// LogQ and LogP are the bit sizes of the ciphertext and key-switching primes.
	LogQ, LogP []int
	// LogScale is log2 of the scale of freshly encrypted vectors; kernels that
	// multiply by plaintexts rescale back to it, so results keep it too.
	LogScale float64
	// DecryptLevel is the level at which results are decrypted: the lowest
	// level whose modulus holds the scale, the values and the flooding.
	DecryptLevel int
	// LogNoiseBound bounds (log2, coefficient domain) the noise of every
	// coefficient of any ciphertext the kernels of this set hand to a joint
	// decryption, for inputs within the set's limits (MaxRows,
	// MaxCombineWeight, MaxFeature): its root mean square, which is what the
	// flooding's composition needs (see LogFlood), or a bound on its
	// largest value that holds except with a stated probability, which
	// bounds the root mean square too. Tests measure the real noise against
	// it.
	LogNoiseBound float64
	// MaxRows is the largest number of rows a kernel may sum for LogNoiseBound to hold.
	MaxRows int
	// LogMaxDecrypted is log2 of the most coefficients one protocol run (one
	// key pair) may decrypt under this set's flooding with 2^-40 statistical
	// distance in all (Kullback-Leibler composition, see LogFlood); the
	// protocols refuse a run that would decrypt more (ErrLimit). 0 would
	// size the flooding per coefficient, so that a run decrypting M
	// coefficients composes to sqrt(M) * 2^-40; no named set does.
	LogMaxDecrypted int
	// MaxCombineWeight bounds the weight of the plaintext factors Combine
	// and CombinePairs take (CombineWeight), which the noise bound is stated
	// for; 0 sets no bound (the set's kernels take no such factors).
	MaxCombineWeight float64
	// Doc says what the set is for.
	Doc string
}

// LogFlood is log2 of the standard deviation sigma of the flooding noise a
// helping party adds to each coefficient of its decryption share. For
// ciphertext noise x on the M = 2^LogMaxDecrypted coefficients of a run,
// the Kullback-Leibler divergence of x + e_flood from e_flood is at most
// |x|^2 / (2 sigma^2), and Pinsker's inequality turns it into a
// statistical distance of at most |x| / (2 sigma); averaged over x,
// E|x| / (2 sigma) <= sqrt(E|x|^2) / (2 sigma) <= sqrt(M) B / (2 sigma) for
// B = 2^LogNoiseBound a bound on every coefficient's root mean square.
// With sigma = sqrt(M) B 2^40 that is 2^-41 for the whole run (he/doc.go;
// Hist13 bounds the largest coefficient instead, except with probability
// 2^-41: 2^-40 in all).
func (s ParamSet) LogFlood() float64 {
	return s.LogNoiseBound + StatisticalSecurity + float64(s.LogMaxDecrypted)/2
}

// MaxDecrypted is the number of coefficients a run may decrypt under the
// set's flooding (0 for a flooding sized per coefficient: no budget).
func (s ParamSet) MaxDecrypted() int {
	if s.LogMaxDecrypted == 0 {
		return 0
	}
	return 1 << s.LogMaxDecrypted
}

// StatisticalSecurity is the flooding margin in bits (smudging lemma).
const StatisticalSecurity = 40

// Hist13 is the shallow set for histograms and other sums of encrypted
// vectors against plaintext 0/1 polynomials (coefficient encoding). N = 2^13,
// Q = 60+60 bits, P = 60 bits: logQP = 180 <= 218. No rescaling is ever needed:
// multiplication by an integer polynomial keeps the scale 2^98. Decryption at
// level 1 keeps 2^119 / 2^98 = 2^21 of headroom for values: sums up to 2^19
// leave room for the flooding's tail.
//
// Its noise bound is analytic (HistNoiseBound, derived in he/doc.go): at
// most 2^27.33 on any coefficient of a histogram of up to MaxRows rows per
// group, in input chunks of up to N/2 values (2 bins: 12 rounds of
// packing), except with probability 2^-41 over a run's 2^30
// coefficients. The flooding of 2^82.4 (40 bits over the bound plus 15
// for the composition over 2^30 coefficients) costs 2^(82.4-98) =
// 2^-15.6 absolute precision per coefficient (no decoding growth:
// coefficients are read directly); values scaled to fill 2^19 keep
// 2^-34.6 of relative precision. (With chunks of at most N/8 the bound
// was 2^24.4 and the precision 2^-37.5; package boost's parted layouts
// carry 2,048 and 4,096 rows per ciphertext for a quarter and an eighth
// of the bytes.)
var Hist13 = ParamSet{
	ID:              "hist13",
	LogN:            13,
	LogQ:            []int{60, 60},
	LogP:            []int{60},
	LogScale:        98,
	DecryptLevel:    1,
	LogNoiseBound:   27.4,
	MaxRows:         1 << 20,
	LogMaxDecrypted: 30,
	Doc:             "histograms and WOE counts: coefficient-encoded sums, no rescaling",
}

// Linear14 is the set for encrypted scoring (package score's Scores
// output) and for vertical LR with revealed gradients (package vlr's
// RevealGradients). N = 2^14 (8192 slots), Q = 60+60+45+45 bits, P =
// 61+61 bits: logQP = 332 <= 438. Fresh vectors are encrypted at level 3
// with scale 2^92; each product with a plaintext encoded at the scale of
// the prime it will be rescaled by keeps the scale 2^92, so two plaintext
// products (the sigmoid from powers, then X^T d) reach level 1, where
// decryption holds 2^119 / 2^92 = 2^27 of headroom for the values and the
// flooding.
//
// Its own flooding is sized for the scores (ScoreNoiseBound, derived in
// he/doc.go): their noise has a root mean square of at most 2^11.9 for
// plaintext factors of weight up to MaxCombineWeight = 2048
// (CombineWeight: a tree ensemble's factors, about 100 for 200 center
// splits with factors within 1; a linear model has none), composed over
// the 2^26 coefficients (4096 ciphertexts, 33 million records in full
// ciphertexts) one scoring session may decrypt: flooding of 2^(12 + 40 +
// 13) = 2^65, which costs 2^(65 + 6.5 - 92) = 2^-20.5 (7e-7) of absolute
// precision per score at one standard deviation (2^6.5 = sqrt(N/2), the
// growth of a real slot's decoding). Keys are fresh for every session
// (score.Keys), so the budget is a session's: package score refuses a
// session that would decrypt more.
//
// A gradient X^T d carries far more noise, which grows with the rows it
// sums (XtdNoiseBound: 2^21.3 for 3,000 rows, 2^25.4 for 2^20 rows at
// mean square 4 per column), so Linear14's own flooding does not cover
// it: a run that decrypts gradients sizes its flooding from its own
// limits and count of decrypted coefficients, in a copy of this set with
// its own LogNoiseBound, LogMaxDecrypted and MaxCombineWeight (package
// vlr does so for RevealGradients). One flooding cannot serve both: sized
// for the gradients and composed over a training, it would cost the scores
// 9 to 13 bits of their precision (the gradients' bound over theirs), past
// the 1e-4 the scores keep.
var Linear14 = ParamSet{
	ID:               "linear14",
	LogN:             14,
	LogQ:             []int{60, 60, 45, 45},
	LogP:             []int{61, 61},
	LogScale:         92,
	DecryptLevel:     1,
	LogNoiseBound:    12,
	MaxRows:          1 << 20,
	LogMaxDecrypted:  26,
	MaxCombineWeight: 2048,
	Doc:              "encrypted scoring (combined scores), and vertical LR gradients (X^T d, sigmoid from powers) with per-run flooding",
}

// Shared15 is the set of vertical LR with secret-shared weights (package
// vlr's default mode), where no party ever sees a gradient, a residual or a
// partial score. N = 2^15 (16384 slots), Q = 4x50 + 60 + 6x45 bits, P = 3x61
// bits: logQP = 713 <= 881. The levels, bottom up:
//
//   - 0-3 (200 bits): the share level. Vectors are turned into additive
//     shares here (OpenToPeer) with masks up to 2^198: 90 bits of scale, 40
//     of statistical hiding, and room for the values and the count of masked
//     coefficients of a training (ShareMaskBits).
//   - 4 (60 bits): the linear level. The weights are re-encrypted from their
//     shares at this level, and X Enc(w) and X^T Enc(d) multiply by
//     plaintexts encoded at this prime, rescaling back to level 3 at the same
//     scale 2^90. Rotation keys live at this level only.
//   - 5-10 (6x45 bits): the sigmoid. Scores re-encrypted at the top level
//     (from shares) take three ciphertext products, each rescaled by a pair of
//     45-bit primes, so every level keeps a scale near 2^90 and a relative
//     precision near 2^-75: the loss and the final weights, the only
//     values a party ever decodes, are limited by their flooding, not by
//     the arithmetic. A decoded weight carries Gaussian noise of standard
//     deviation sqrt(Block) sigma / 2^90, sigma the flooding per
//     coefficient that package vlr sizes for the training, which grows
//     linearly with the optimizer's steps: about 1.6e-8 for 15 columns
//     after 3 full-batch epochs of vlr's defaults (package vlr's doc).
//
// LogNoiseBound is per row here: the plaintext noise of a batch's gradient
// or loss sum, which grows with the rows summed, stays below
// 2^LogNoiseBound times the batch's rows. It is measured, not derived
// (TestSharedChainNoise, 20,000 rows): 2^8.5 per row on typical data
// (features within 5, scores within 3) and 2^13.3 at the limits package vlr
// enforces (features at MaxFeature, the scores spread over the whole
// sigmoid interval of 8; 2^10.3 for the widest interval, 64); the bound
// keeps 1.7 bits above the worst.
var Shared15 = ParamSet{
	ID:            "shared15",
	LogN:          15,
	LogQ:          []int{50, 50, 50, 50, 60, 45, 45, 45, 45, 45, 45},
	LogP:          []int{61, 61, 61},
	LogScale:      90,
	DecryptLevel:  3,
	LogNoiseBound: 15,
	MaxRows:       1 << 20,
	Doc:           "vertical LR with secret-shared weights: shares at level 3, products with X at 4, the sigmoid from the top",
}

// ParamSets lists every named set.
var ParamSets = []ParamSet{Hist13, Linear14, Shared15}

// ParamSetByID returns the named set.
func ParamSetByID(id string) (ParamSet, error) {
	for _, s := range ParamSets {
		if s.ID == id {
			return s, nil
		}
	}
	return ParamSet{}, fmt.Errorf("%w %q (known: hist13, linear14, shared15)", ErrUnknownParamSet, id)
}

// MaxLogQP is the largest logQP with 128-bit security for a uniform ternary
// secret at each ring degree (HE standard, table 1), or 0 when unknown.
func MaxLogQP(logN int) float64 {
	switch logN {
	case 12:
		return 109
	case 13:
		return 218
	case 14:
		return 438
	case 15:
		return 881
	}
	return 0
}

// Params are validated parameters: a ParamSet together with its lattigo form.
type Params struct {
	set  ParamSet
	ckks ckks.Parameters
}

// NewParams validates s (security bound, moduli) and builds its lattigo form.
func NewParams(s ParamSet) (Params, error) {
	p, err := ckks.NewParametersFromLiteral(ckks.ParametersLiteral{
		LogN:            s.LogN,
		LogQ:            s.LogQ,
		LogP:            s.LogP,
		LogDefaultScale: 40, // the scale is managed here (Params.Scale); 40 keeps lattigo at one prime per rescale
	})
	if err != nil {
		return Params{}, fmt.Errorf("he: parameter set %s: %w", s.ID, err)
	}
	if max := MaxLogQP(s.LogN); max == 0 || p.LogQP() > max {
		return Params{}, fmt.Errorf("he: parameter set %s: logQP %.1f exceeds the 128-bit bound %.0f for N=2^%d", s.ID, p.LogQP(), max, s.LogN)
	}
	if s.DecryptLevel < 0 || s.DecryptLevel > p.MaxLevel() {
		return Params{}, fmt.Errorf("he: parameter set %s: decrypt level %d outside [0, %d]", s.ID, s.DecryptLevel, p.MaxLevel())
	}
	if s.LogScale < encodeLogScale || s.LogScale > encodeLogScale+62 || s.LogScale != math.Floor(s.LogScale) {
		return Params{}, fmt.Errorf("he: parameter set %s: scale 2^%g must be an integer power of two in [2^%d, 2^%d]", s.ID, s.LogScale, encodeLogScale, encodeLogScale+62)
	}
	if head := float64(p.LogQLvl(s.DecryptLevel)) - 1 - s.LogScale; head < 20 {
		return Params{}, fmt.Errorf("he: parameter set %s: only %.0f bits of headroom for values at the decryption level", s.ID, head)
	}
	return Params{set: s, ckks: p}, nil
}

// MustParams is NewParams for the named sets of this package, which are valid.
func MustParams(s ParamSet) Params {
	p, err := NewParams(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Set returns the named set these parameters were built from.
func (p Params) Set() ParamSet { return p.set }

// ID returns the parameter-set id.
func (p Params) ID() string { return p.set.ID }

// N returns the ring degree.
func (p Params) N() int { return p.ckks.N() }

// Slots returns the number of complex slots of one ciphertext (N/2).
func (p Params) Slots() int { return p.ckks.MaxSlots() }

// MaxLevel returns the level of fresh ciphertexts.
func (p Params) MaxLevel() int { return p.ckks.MaxLevel() }

// LogQP returns log2 of the full modulus, the figure compared with MaxLogQP.
func (p Params) LogQP() float64 { return p.ckks.LogQP() }

// Scale returns the scale of fresh vectors.
func (p Params) Scale() rlwe.Scale { return rlwe.NewScale(math.Exp2(p.set.LogScale)) }

// floodSigma is the standard deviation of the flooding noise.
func (p Params) floodSigma() float64 { return math.Exp2(p.set.LogFlood()) }
