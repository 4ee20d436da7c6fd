package model

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/floats"
)

// LRVersion is the version of the LRHalf file format that Save writes and
// LoadLRHalf reads.
const LRVersion = 1

// Role says which side of a vertically split model a party is. It is one
// type for the model halves here and the protocols' handshake (fl.Role is
// this type), so a role never travels as a bare string. Its values are the
// party names model files hold, so files written before the type existed
// load unchanged.
type Role string

const (
	Active  Role = "active"  // the bank: labels, its own features, the intercept
	Passive Role = "passive" // the credit center: features only
)

// Valid reports whether r is Active or Passive.
func (r Role) Valid() bool { return r == Active || r == Passive }

// LRHalf is one party's half of a vertically split logistic regression:
// its own features, its own standardizer and weights. The model's logit of
// default for a row is the sum of both halves' partial scores, and its
// probability of default PredictProba(active, passive).
type LRHalf struct {
	Version int  `json:"version"`
	Party   Role `json:"party"`
	// Training names the training that produced the half (job.TrainingID),
	// the same in both halves of one model; "" for a half from elsewhere.
	Training     string       `json:"training,omitempty"`
	Features     []string     `json:"features"`
	Standardizer Standardizer `json:"standardizer"`
	Weights      []float64    `json:"weights"`
	// Intercept belongs to the active half; it is 0 on the passive half.
	Intercept float64 `json:"intercept"`
	// Sigmoid records the polynomial coefficients, lowest degree first, that
	// training used in place of the logistic function; empty for the exact
	// one. Informational: scoring always uses the exact logistic function.
	Sigmoid []float64 `json:"sigmoid,omitempty"`
}

// Validate checks h the way LoadLRHalf checks a file. The errors wrap
// ErrBadModel and name the field at fault.
func (h *LRHalf) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadModel}, a...)...)
	}
	if h.Version != LRVersion {
		return bad("version %d, this build reads version %d", h.Version, LRVersion)
	}
	if !h.Party.Valid() {
		return bad("party %q, want %q or %q", h.Party, Active, Passive)
	}
	d := len(h.Features)
	seen := make(map[string]bool, d)
	for j, f := range h.Features {
		if f == "" {
			return bad("features[%d] is empty", j)
		}
		if seen[f] {
			return bad("features[%d] %q repeats", j, f)
		}
		seen[f] = true
	}
	if len(h.Weights) != d {
		return bad("%d weights for %d features", len(h.Weights), d)
	}
	if len(h.Standardizer.Mean) != d || len(h.Standardizer.Std) != d {
		return bad("standardizer has %d means and %d std for %d features", len(h.Standardizer.Mean), len(h.Standardizer.Std), d)
	}
	if err := h.Standardizer.Validate(); err != nil {
		return bad("%v", err)
	}
	for j, w := range h.Weights {
		if !finite(w) {
			return bad("weights[%d] (%s) is %v", j, h.Features[j], w)
		}
	}
	if !finite(h.Intercept) {
		return bad("intercept is %v", h.Intercept)
	}
	if h.Party == Passive && h.Intercept != 0 {
		return bad("intercept %v on the passive half, want 0", h.Intercept)
	}
	for k, c := range h.Sigmoid {
		if !finite(c) {
			return bad("sigmoid[%d] is %v", k, c)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Save validates h and writes it as indented JSON.
func (h *LRHalf) Save(w io.Writer) error { return saveJSON(w, "LR half", h, h.Validate) }

// LoadLRHalf reads an LRHalf written by Save. It rejects, with errors wrapping
// ErrBadModel, files of another version, unknown fields, trailing data, and
// every inconsistency Validate finds.
func LoadLRHalf(r io.Reader) (*LRHalf, error) {
	h := new(LRHalf)
	if err := loadJSON(r, "LR half", LRVersion, h, h.Validate); err != nil {
		return nil, err
	}
	return h, nil
}

// PartialScore writes to dst, one value per row, this half's share of the
// logit: standardize(x)·Weights, plus Intercept on the active half. x holds
// the party's raw features, row-major n x len(Features), NaN for missing; dst
// has length n.
func (h *LRHalf) PartialScore(x, dst []float64) error {
	d := len(h.Weights)
	if d == 0 {
		if len(x) != 0 {
			return fmt.Errorf("%w: %d values for a model without features", ErrShape, len(x))
		}
		for i := range dst {
			dst[i] = h.Intercept
		}
		return nil
	}
	if len(x)%d != 0 || len(x)/d != len(dst) {
		return fmt.Errorf("%w: %d values and %d outputs for %d features", ErrShape, len(x), len(dst), d)
	}
	row := make([]float64, d)
	for i := range dst {
		if err := h.Standardizer.Transform(x[i*d:(i+1)*d], row); err != nil {
			return err
		}
		dst[i] = h.Intercept + floats.Dot(row, h.Weights)
	}
	return nil
}

// PredictProba returns the probability of default from the two halves'
// partial scores: Logistic(active + passive).
func PredictProba(active, passive float64) float64 { return Logistic(active + passive) }

// Logistic returns 1/(1+e^-z), computed without overflow for any z.
func Logistic(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
