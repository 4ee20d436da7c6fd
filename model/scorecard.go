package model

import (
	"fmt"
	"math"
)

// Scorecard turns a probability of default into credit points, higher
// meaning better credit:
//
//	points = offset + factor * ln(odds),  odds = (1-p)/p  (good:bad)
//	factor = PDO / ln 2,  offset = BasePoints - factor * ln(BaseOdds)
//
// so an applicant at odds BaseOdds gets BasePoints and every doubling of the
// odds adds PDO points. A zero field takes its default: BasePoints 500, PDO
// 20, BaseOdds 1 (1:1). These are FATE's scorecard defaults (offset 500,
// factor 20, factor_base 2); FATE also clips scores to [0, 3*offset], which
// Scorecard leaves to the caller. PDO and BaseOdds must be positive.
type Scorecard struct {
	BasePoints float64
	PDO        float64
	BaseOdds   float64
}

func (s Scorecard) scale() (offset, factor float64) {
	base, pdo, odds := s.BasePoints, s.PDO, s.BaseOdds
	if base == 0 {
		base = 500
	}
	if pdo == 0 {
		pdo = 20
	}
	if odds == 0 {
		odds = 1
	}
	factor = pdo / math.Ln2
	return base - factor*math.Log(odds), factor
}

// Points returns the points for probability of default p. p = 0 gives +Inf
// and p = 1 gives -Inf; clip p first where finite scores are needed.
func (s Scorecard) Points(p float64) float64 {
	offset, factor := s.scale()
	return offset + factor*(math.Log1p(-p)-math.Log(p))
}

// PointsFromLogit returns the points for a model whose logit of default is z
// (p = 1/(1+e^-z)): ln(odds good) = -z, so points = offset - factor*z.
func (s Scorecard) PointsFromLogit(z float64) float64 {
	offset, factor := s.scale()
	return offset - factor*z
}

// LinearPoints splits the points of a linear model z = intercept + w·x (z the
// logit of default, x the model's standardized inputs) into one term per
// feature, perFeature[j] = -factor * w[j] * x[j], and a base term holding the
// offset and the intercept, offset - factor*intercept, which is
// total - sum(perFeature). The offset is not spread over the features: with
// standardized inputs a feature then scores 0 at its training mean, so each
// term reads as points gained or lost against an average applicant.
func (s Scorecard) LinearPoints(intercept float64, weights, x []float64) (total float64, perFeature []float64, err error) {
	if len(weights) != len(x) {
		return 0, nil, fmt.Errorf("%w: %d weights and %d inputs", ErrShape, len(weights), len(x))
	}
	offset, factor := s.scale()
	perFeature = make([]float64, len(x))
	total = offset - factor*intercept
	for j, w := range weights {
		perFeature[j] = -factor * w * x[j]
		total += perFeature[j]
	}
	return total, perFeature, nil
}
