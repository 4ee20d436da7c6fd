package score

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// A WOE scorecard is scored as a linear model on the logit scale: its
// points are offset - factor*logit (model.Scorecard), so the bank's partial
// points P_b (which hold the offset) become the partial logit
// (offset - P_b)/factor and the center's P_c become -P_c/factor. Band cut
// points on the points scale convert with PointCuts; decrypted logits back
// to points with card.PointsFromLogit.

// logitShare maps partial points to this party's share of the logit.
func logitShare(card model.Scorecard, half *model.ScorecardHalf, x []float64, d int) ([]float64, error) {
	if err := half.Validate(); err != nil {
		whose := "the center's"
		if half.Party == model.Active {
			whose = "the bank's"
		}
		return nil, withheld(err, whose)
	}
	if d < 1 || len(x)%d != 0 {
		return nil, fmt.Errorf("%w: %d values in rows of %d columns", model.ErrShape, len(x), d)
	}
	u := make([]float64, len(x)/d)
	if err := half.PartialPoints(x, d, u); err != nil {
		return nil, err
	}
	offset := card.PointsFromLogit(0)
	factor := offset - card.PointsFromLogit(1)
	if !(factor > 0) {
		return nil, fmt.Errorf("%w: a scorecard whose points do not fall with the logit", ErrOptions)
	}
	for i, p := range u {
		if half.Party == model.Active {
			u[i] = (offset - p) / factor
		} else {
			u[i] = -p / factor
		}
	}
	return u, nil
}

// ScorecardPassive is the center's side of encrypted scoring of a WOE
// scorecard (model.ScorecardHalf, card the scaling both parties agreed):
// x holds its raw columns, row-major with d columns, in the aligned order,
// a categorical column as the half's levels (model.ScorecardHalf.Encode
// maps a table's own labels to them).
// It learns what LinearPassive learns: nothing about the scores.
func ScorecardPassive(ctx context.Context, t fl.Transport, p *he.Party, card model.Scorecard, half *model.ScorecardHalf, x []float64, d int, opt Options) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	u, err := logitShare(card, half, x, d)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	return linearPassive(ctx, t, p, u, opt, half.Training)
}

// ScorecardActive is the bank's side: the result's logits (Scores) convert
// to points with card.PointsFromLogit; its bands count the cut points
// (PointCuts of point boundaries) below the logit.
func ScorecardActive(ctx context.Context, t fl.Transport, p *he.Party, card model.Scorecard, half *model.ScorecardHalf, x []float64, d int, opt Options) (_ *Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	u, err := logitShare(card, half, x, d)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	return linearActive(ctx, t, p, u, opt, half.Training)
}
