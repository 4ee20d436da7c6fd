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
// (MulVector, MulTransposed, the encrypted scores) take: the noise bounds of
// Linear14 and Shared15, and the width of Shared15's masks, are stated for
// features in [-MaxFeature, MaxFeature], which standardized data clipped at
// up to MaxFeature standard deviations (model.Standardizer.Clip) always is.
// The protocols refuse a larger value (ErrLimit).
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
	// LogNoiseBound bounds (log2, coefficient domain) the noise of any
	// ciphertext the kernels of this set hand to a joint decryption, for inputs
	// of up to MaxRows rows. Tests measure the real noise against it.
	LogNoiseBound float64
	// MaxRows is the largest number of rows a kernel may sum for LogNoiseBound to hold.
	MaxRows int
	// LogMaxDecrypted is log2 of the most coefficients one protocol run may
	// decrypt under this set's flooding with 2^-40 statistical distance in
	// all (Kullback-Leibler composition, see LogFlood); 0 sizes the flooding
	// per coefficient, so that a run decrypting M coefficients composes to
	// sqrt(M) * 2^-40 (Linear14: see its doc).
	LogMaxDecrypted int
	// Doc says what the set is for.
	Doc string
}

// LogFlood is log2 of the standard deviation sigma of the flooding noise a
// helping party adds to each coefficient of its decryption share. For a
// ciphertext noise x (|x| <= B = 2^LogNoiseBound) the Kullback-Leibler
// divergence of x + e_flood from e_flood is at most x^2 / (2 sigma^2) per
// coefficient; over the M = 2^LogMaxDecrypted coefficients of a run it adds
// up to at most M B^2 / (2 sigma^2), and Pinsker's inequality turns that into
// a statistical distance of at most sqrt(M) B / (2 sigma). With sigma =
// sqrt(M) B 2^40 that is 2^-41, and the noise bound itself fails with
// probability at most 2^-41 (see he/doc.go): 2^-40 for the whole run.
func (s ParamSet) LogFlood() float64 {
	return s.LogNoiseBound + StatisticalSecurity + float64(s.LogMaxDecrypted)/2
}

// MaxDecrypted is the number of coefficients a run may decrypt under the
// set's flooding (0 for a set whose flooding is sized per coefficient).
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
// most 2^24.4 on any coefficient of a histogram of up to MaxRows rows per
// group, except with probability 2^-41 over a run's 2^30 coefficients
// (measured: 2^17.8 at 2^20 rows in the worst chunk). The flooding of
// 2^79.5 (40 bits over the bound plus 15 for the composition over 2^30
// coefficients) costs 2^(79.5-98) = 2^-18.5 absolute precision per
// coefficient (no decoding growth: coefficients are read directly); values
// scaled to fill 2^19 keep 2^-37.5 of relative precision.
var Hist13 = ParamSet{
	ID:              "hist13",
	LogN:            13,
	LogQ:            []int{60, 60},
	LogP:            []int{60},
	LogScale:        98,
	DecryptLevel:    1,
	LogNoiseBound:   24.5,
	MaxRows:         1 << 20,
	LogMaxDecrypted: 30,
	Doc:             "histograms and WOE counts: coefficient-encoded sums, no rescaling",
}

// Linear14 is the set for vertical LR and encrypted scoring. N = 2^14 (8192
// slots), Q = 60+60+45+45 bits, P = 61+61 bits: logQP = 332 <= 438. Fresh vectors
// are encrypted at level 3 with scale 2^92; each product with a plaintext
// encoded at the scale of the prime it will be rescaled by keeps the scale
// 2^92, so two plaintext products (the sigmoid from powers, then X^T d) reach
// level 1, where decryption holds 2^119 / 2^92 = 2^27 of headroom. The noise of
// X^T d stays below 2^26 for up to 2^20 rows and 1000 columns (measured: 2^20.3
// for 100,000 rows), so the flooding of 2^66 costs about
// 2^(66 + 7 - 92) = 2^-19 absolute precision per slot (the 2^7 is sqrt(N), the
// slot decoding's growth). This bound is measured, not derived, and the
// flooding is sized per coefficient (LogMaxDecrypted 0): a scoring session
// of 30,000 rows decrypts 2^16 coefficients and composes to 2^-32, a
// RevealGradients training more. The default protocols decrypt nothing
// under Linear14 but encrypted scores (Scores output).
var Linear14 = ParamSet{
	ID:            "linear14",
	LogN:          14,
	LogQ:          []int{60, 60, 45, 45},
	LogP:          []int{61, 61},
	LogScale:      92,
	DecryptLevel:  1,
	LogNoiseBound: 26,
	MaxRows:       1 << 20,
	Doc:           "vertical LR gradients (X^T d, sigmoid from powers) and encrypted scoring",
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
//     precision near 2^-75: enough that the loss and the final weights, the
//     only values a party ever decodes, keep about 2^-25 after their
//     flooding.
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
