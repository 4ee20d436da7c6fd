package woe

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// TestScoreMalformedPoints: partial points from the center that the bank
// cannot use are a protocol violation (woe's and fl's), and the center is
// told why.
func TestScoreMalformedPoints(t *testing.T) {
	const rows = 3
	half := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: model.Active, BasePoints: 500,
		Features: []model.ScorecardFeature{{Name: "a", Column: 0, Points: []float64{7}}}}
	require.NoError(t, half.Validate())
	x := make([]float64, rows)
	good := []float64{1, -2, 3}
	for name, payload := range map[string][]byte{
		"short":    fl.AppendFloats(nil, good[:2]),
		"partial":  fl.AppendFloats(nil, good)[:20],
		"NaN":      fl.AppendFloats(nil, []float64{1, math.NaN(), 3}),
		"infinity": fl.AppendFloats(nil, []float64{math.Inf(-1), 2, 3}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			go func() {
				if _, err := fl.Expect(ctx, tc, TypeScoreSetup); err == nil {
					_ = tc.Send(ctx, fl.Message{Type: TypePoints, Payload: payload})
				}
			}()
			_, err := ScoreActive(ctx, ta, half, x, 1)
			require.ErrorIs(t, err, ErrProtocol)
			require.ErrorIs(t, err, fl.ErrProtocol)
			require.ErrorIs(t, err, fl.ErrMalformed)
			_, err = fl.Expect(ctx, tc, "woe.next")
			require.ErrorIs(t, err, fl.ErrPeerAborted)
		})
	}

	// The payload the cases above corrupt adds to the bank's points.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	go func() {
		if _, err := fl.Expect(ctx, tc, TypeScoreSetup); err == nil {
			_ = tc.Send(ctx, fl.Message{Type: TypePoints, Payload: fl.AppendFloats(nil, good)})
		}
	}()
	pts, err := ScoreActive(ctx, ta, half, x, 1)
	require.NoError(t, err)
	require.Equal(t, []float64{508, 505, 510}, pts)
}

// Scoring refuses halves of different trainings before the center sends
// any point: ids that differ, or an id on one side only, each error naming
// both; halves of one training, or both without an id, score.
func TestScoreTrainingChecked(t *testing.T) {
	const rows = 3
	halves := func(bank, center string) (*model.ScorecardHalf, *model.ScorecardHalf) {
		b := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: model.Active, Training: bank, BasePoints: 500,
			Features: []model.ScorecardFeature{{Name: "a", Column: 0, Points: []float64{7}}}}
		c := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: model.Passive, Training: center,
			Features: []model.ScorecardFeature{{Name: "b", Column: 0, Points: []float64{-3}}}}
		return b, c
	}
	x := make([]float64, rows)
	for _, c := range []struct {
		name, bank, center string
		want               []string // nil: scores
	}{
		{"same", "t1", "t1", nil},
		{"neither", "", "", nil},
		{"differ", "t1", "t2", []string{"bank's scorecard half is of training t1", "center's of training t2"}},
		{"bank only", "t1", "", []string{"training t1", "center's of no training id"}},
		{"center only", "", "t2", []string{"bank's scorecard half is of no training id", "training t2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			bh, ch := halves(c.bank, c.center)
			done := make(chan error, 1)
			go func() { done <- ScorePassive(ctx, tc, ch, x, 1) }()
			pts, err := ScoreActive(ctx, ta, bh, x, 1)
			centerErr := <-done
			if c.want == nil {
				require.NoError(t, err)
				require.NoError(t, centerErr)
				require.Equal(t, []float64{504, 504, 504}, pts)
				return
			}
			require.ErrorIs(t, centerErr, ErrTraining)
			require.ErrorIs(t, err, fl.ErrPeerAborted)
			for _, w := range c.want {
				require.ErrorContains(t, centerErr, w)
				require.ErrorContains(t, err, w)
			}
			require.Nil(t, pts)
		})
	}
}
