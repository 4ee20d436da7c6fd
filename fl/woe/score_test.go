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
			go func() { _ = tc.Send(ctx, fl.Message{Type: TypePoints, Payload: payload}) }()
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
	go func() { _ = tc.Send(ctx, fl.Message{Type: TypePoints, Payload: fl.AppendFloats(nil, good)}) }()
	pts, err := ScoreActive(ctx, ta, half, x, 1)
	require.NoError(t, err)
	require.Equal(t, []float64{508, 505, 510}, pts)
}
