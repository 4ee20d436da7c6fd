package woe

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// TestUndeclaredCountsNeverReachThePlan: no request of the bank's can make
// the center release counts its plan does not declare, and each is refused
// before any histogram is computed, with the center's data untouched and no
// counts sent. The center computes the one vector it releases from the
// bank's labels, which arrive seeded: the wire form fixes their layout and
// level, so labels in another layout or at another level do not even
// decode as labels, and labels of another length are refused by the
// center's check of them. It releases one vector per run, so no count runs
// over. None of these reaches the plan, which would refuse them too:
// fl/joint's TestProtocolPlansRefuse.
func TestUndeclaredCountsNeverReachThePlan(t *testing.T) {
	const n = 500
	xb, xc, y := synthetic(n, 1, 2, 4)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	p := params()
	_, bank, err := hetest.LocalPair(p, he.KeySpec{Pack: true}, []byte("woe-plan-test-seed-0123456789abc"))
	require.NoError(t, err)
	longer, err := bank.EncryptCoeffsSeeded(make([]float64, n+1), he.HistogramChunk(p, 32, 2, n+1))
	require.NoError(t, err)
	seededLonger, err := p.MarshalSeededVector(longer)
	require.NoError(t, err)
	slots, err := bank.Encrypt(make([]float64, n))
	require.NoError(t, err)
	inSlots, err := p.MarshalVector(slots)
	require.NoError(t, err)
	low, err := bank.EncryptCoeffs(make([]float64, n), he.HistogramChunk(p, 32, 2, n))
	require.NoError(t, err)
	for _, ct := range low.Cts {
		ct.Resize(ct.Degree(), 0)
	}
	lower, err := p.MarshalVector(low)
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		labels []byte
		want   error
	}{
		{"wrong length", seededLonger, joint.ErrUnexpectedVector},
		{"wrong layout", inSlots, he.ErrMalformed},
		{"wrong level", lower, he.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			var counts atomic.Int32
			ta, tc := fltest.NewPipe(fltest.Tamper(func(m fl.Message) fl.Message {
				switch m.Type {
				case TypeLabels:
					m.Payload = c.labels
				case TypeHist:
					counts.Add(1)
				}
				return m
			}))
			defer ta.Close()
			defer tc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := TrainPassive(ctx, tc, testSeed, Data{X: xc, Cols: 2})
				done <- err
			}()
			_, bankErr := TrainActive(ctx, ta, testSeed, Data{X: xb, Cols: 1, Y: y}, Options{})
			centerErr := <-done
			require.ErrorIs(t, centerErr, c.want)
			require.NotErrorIs(t, centerErr, joint.ErrUndeclared, "refused before the plan")
			require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
			require.Zero(t, counts.Load(), "no counts sent")
			require.Equal(t, xb0, xb)
			require.True(t, slices.EqualFunc(xc0, xc, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }), "the center's data is untouched")
			require.Equal(t, y0, y)
		})
	}
}
