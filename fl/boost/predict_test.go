package boost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// TestPredictMalformedDecisions: decisions from the center that the bank
// cannot use are a protocol violation (boost's and fl's), and the center
// is told why.
func TestPredictMalformedDecisions(t *testing.T) {
	a, db := splitModel(t)
	const rows = 5
	x := make([]float64, rows*db)
	splits := a.CountSplits(model.Passive)
	full := make([][]byte, splits)
	for k := range full {
		full[k] = make([]byte, (rows+7)/8)
	}
	short := append([][]byte{{}}, full[1:]...)
	for name, payload := range map[string][]byte{
		"garbage":     {1, 2, 3},
		"one part":    fl.JoinParts(full[0]),
		"extra part":  fl.JoinParts(append(full, nil)...),
		"short part":  fl.JoinParts(short...),
		"no payload":  nil,
		"stray bytes": append(fl.JoinParts(full...), 0),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			go func() { _ = tc.Send(ctx, fl.Message{Type: TypeDecisions, Payload: payload}) }()
			_, err := PredictActiveLogits(ctx, ta, a, x, db)
			require.ErrorIs(t, err, ErrProtocol)
			require.ErrorIs(t, err, fl.ErrProtocol)
			_, err = fl.Expect(ctx, tc, "boost.next")
			require.ErrorIs(t, err, fl.ErrPeerAborted)
		})
	}

	// The well-formed payload the cases above corrupt is accepted.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	go func() { _ = tc.Send(ctx, fl.Message{Type: TypeDecisions, Payload: fl.JoinParts(full...)}) }()
	logits, err := PredictActiveLogits(ctx, ta, a, x, db)
	require.NoError(t, err)
	require.Len(t, logits, rows)
}
