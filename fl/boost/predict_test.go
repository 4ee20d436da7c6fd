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
			go func() {
				if _, err := fl.Expect(ctx, tc, TypePredictSetup); err == nil {
					_ = tc.Send(ctx, fl.Message{Type: TypeDecisions, Payload: payload})
				}
			}()
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
	go func() {
		if _, err := fl.Expect(ctx, tc, TypePredictSetup); err == nil {
			_ = tc.Send(ctx, fl.Message{Type: TypeDecisions, Payload: fl.JoinParts(full...)})
		}
	}()
	logits, err := PredictActiveLogits(ctx, ta, a, x, db)
	require.NoError(t, err)
	require.Len(t, logits, rows)
}

// Federated prediction refuses halves of different trainings before the
// center sends any decision: ids that differ, or an id on one side only,
// each error naming both; halves of one training, or both without an id,
// predict the plaintext ensemble's logits.
func TestPredictTrainingChecked(t *testing.T) {
	const db, dc = 2, 2
	xb, xc, y := synthetic(200, db, dc, 5)
	g, err := model.TrainVerticalGBDT(xb, db, xc, dc, y, model.GBDTOptions{Trees: 2, MaxDepth: 3})
	require.NoError(t, err)
	joint := make([]float64, 0, len(xb)+len(xc))
	for i := range y {
		joint = append(append(joint, xb[i*db:(i+1)*db]...), xc[i*dc:(i+1)*dc]...)
	}
	want, err := g.PredictLogit(joint, db+dc)
	require.NoError(t, err)
	for _, c := range []struct {
		name, bank, center string
		want               []string // nil: predicts
	}{
		{"same", "t1", "t1", nil},
		{"neither", "", "", nil},
		{"differ", "t1", "t2", []string{"bank's half of the trees is of training t1", "center's of training t2"}},
		{"bank only", "t1", "", []string{"training t1", "center's of no training id"}},
		{"center only", "", "t2", []string{"bank's half of the trees is of no training id", "training t2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, p, err := SplitGBDT(g, db)
			require.NoError(t, err)
			a.Training, p.Training = c.bank, c.center
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ta, tc := fl.NewPipe()
			defer ta.Close()
			defer tc.Close()
			done := make(chan error, 1)
			go func() { done <- PredictPassive(ctx, tc, p, xc, dc) }()
			logits, err := PredictActiveLogits(ctx, ta, a, xb, db)
			centerErr := <-done
			if c.want == nil {
				require.NoError(t, err)
				require.NoError(t, centerErr)
				require.InDeltaSlice(t, want, logits, 1e-12)
				return
			}
			require.ErrorIs(t, centerErr, ErrTraining)
			require.ErrorIs(t, err, fl.ErrPeerAborted)
			for _, w := range c.want {
				require.ErrorContains(t, centerErr, w)
				require.ErrorContains(t, err, w)
			}
			require.Nil(t, logits)
		})
	}
}
