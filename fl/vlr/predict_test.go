package vlr

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// TestPredictMalformedScores: partial scores from the center that the bank
// cannot use are a protocol violation (vlr's and fl's), and the center is
// told why.
func TestPredictMalformedScores(t *testing.T) {
	const rows, cols = 4, 2
	x := make([]float64, rows*cols)
	w := []float64{0.5, -1}
	good := []float64{0.1, -0.2, 0.3, 0}
	for name, payload := range map[string][]byte{
		"short":    fl.AppendFloats(nil, good[:3]),
		"long":     fl.AppendFloats(nil, append(good, 1)),
		"partial":  fl.AppendFloats(nil, good)[:31],
		"NaN":      fl.AppendFloats(nil, []float64{0, math.NaN(), 0, 0}),
		"infinity": fl.AppendFloats(nil, []float64{0, 0, math.Inf(1), 0}),
		"empty":    nil,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			go func() { _ = tc.Send(ctx, fl.Message{Type: TypeScores, Payload: payload}) }()
			_, err := PredictActiveProbabilities(ctx, ta, x, cols, w, 0)
			require.ErrorIs(t, err, ErrProtocol)
			require.ErrorIs(t, err, fl.ErrProtocol)
			require.ErrorIs(t, err, fl.ErrMalformed)
			_, err = fl.Expect(ctx, tc, "vlr.next")
			require.ErrorIs(t, err, fl.ErrPeerAborted)
		})
	}

	// The payload the cases above corrupt gives the logistic of the sums.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	go func() { _ = tc.Send(ctx, fl.Message{Type: TypeScores, Payload: fl.AppendFloats(nil, good)}) }()
	p, err := PredictActiveProbabilities(ctx, ta, x, cols, w, 0)
	require.NoError(t, err)
	for i := range good {
		require.InDelta(t, model.Logistic(good[i]), p[i], 1e-15)
	}
}

// TestUnmarshalVectorsFraming: vlr's vectors travel as fl.JoinParts parts,
// and a framing fault matches fl.ErrParts (so fl.ErrProtocol) as well as
// the he.ErrMalformed it always matched.
func TestUnmarshalVectorsFraming(t *testing.T) {
	p := he.MustParams(he.Linear14)
	vs, err := unmarshalVectors(p, fl.JoinParts(), 0)
	require.NoError(t, err)
	require.Empty(t, vs)
	b := fl.JoinParts([]byte("first"), []byte("second"))
	for name, c := range map[string]struct {
		b    []byte
		want int
	}{
		"count":     {b, 3},
		"truncated": {b[:len(b)-1], 2},
		"stray":     {append(append([]byte(nil), b...), 7), 2},
		"no header": {[]byte{1, 2, 3}, 1},
	} {
		_, err := unmarshalVectors(p, c.b, c.want)
		require.ErrorIs(t, err, fl.ErrParts, name)
		require.ErrorIs(t, err, fl.ErrProtocol, name)
		require.ErrorIs(t, err, he.ErrMalformed, name)
	}
	// Well framed, the parts go to the vector decoder, which refuses these.
	_, err = unmarshalVectors(p, b, 2)
	require.ErrorIs(t, err, he.ErrMalformed)
	require.NotErrorIs(t, err, fl.ErrParts)
}
