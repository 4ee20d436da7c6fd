package vlr

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

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
	b := make([]byte, 0, 8*n)
	for _, v := range u {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return t.Send(ctx, fl.Message{Type: TypeScores, Payload: b})
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
	if len(b) != 8*n {
		return nil, fl.Fail(ctx, t, fmt.Errorf("vlr: the center sent %d bytes of scores for %d rows", len(b), n))
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	u := partialScores(x, cols, rows, w, intercept)
	for i := range u {
		uc := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		if math.IsNaN(uc) || math.IsInf(uc, 0) {
			return nil, fl.Fail(ctx, t, fmt.Errorf("vlr: the center's score for row %d is %v", i, uc))
		}
		u[i] = model.Logistic(u[i] + uc)
	}
	return u, nil
}
