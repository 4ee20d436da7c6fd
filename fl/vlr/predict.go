package vlr

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// PredictPassive is the center's side of federated prediction: it sends its
// partial scores x . w for the rows to score (standardized like its training
// rows, in the order both parties agreed). The bank learns them; see the
// package doc.
func PredictPassive(ctx context.Context, t fl.Transport, x []float64, cols int, w []float64) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	if cols != len(w) || cols < 1 || len(x)%cols != 0 {
		return fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns for %d weights", ErrOptions, len(x), cols, len(w)))
	}
	n := len(x) / cols
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	u := partialScores(x, cols, rows, w, 0)
	return t.Send(ctx, fl.Message{Type: TypeScores, Payload: fl.AppendFloats(nil, u)})
}

// PredictActiveProbabilities is the bank's side: it adds its own partial scores and the
// intercept to the center's and returns the probabilities of default.
func PredictActiveProbabilities(ctx context.Context, t fl.Transport, x []float64, cols int, w []float64, intercept float64) (_ []float64, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	if cols != len(w) || cols < 1 || len(x)%cols != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns for %d weights", ErrOptions, len(x), cols, len(w)))
	}
	n := len(x) / cols
	b, err := fl.Expect(ctx, t, TypeScores)
	if err != nil {
		return nil, err
	}
	uc, err := fl.ParseFloats(b, n)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center's scores for %d rows: %w", ErrProtocol, n, err))
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	u := partialScores(x, cols, rows, w, intercept)
	for i := range u {
		u[i] = model.Logistic(u[i] + uc[i])
	}
	return u, nil
}
