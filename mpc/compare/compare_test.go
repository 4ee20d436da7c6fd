package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/mpc/ot"
)

// transcript holds what each side received, for the tests that look at it.
type transcript struct {
	toLearner, toHelper [][]byte
}

// compareLocal runs a batch between the two sides in memory.
func compareLocal(t testing.TB, c *ot.Chooser, o *ot.Offerer, x, y []uint32, cuts int) ([]uint8, transcript) {
	t.Helper()
	h, err := NewHelper(c, x, cuts)
	require.NoError(t, err)
	l, err := NewLearner(o, y, cuts)
	require.NoError(t, err)
	var tr transcript
	msg, err := h.Start()
	require.NoError(t, err)
	hs, ls := Messages()
	for {
		tr.toLearner = append(tr.toLearner, msg)
		out, done, err := l.Next(msg)
		require.NoError(t, err)
		if done {
			break
		}
		tr.toHelper = append(tr.toHelper, out)
		msg, _, err = h.Next(out)
		require.NoError(t, err)
	}
	require.Len(t, tr.toLearner, hs)
	require.Len(t, tr.toHelper, ls)
	return l.Result(), tr
}

func want(x, y uint32) uint8 {
	if int32(x+y) >= 0 {
		return 1
	}
	return 0
}

// TestSigns compares every result with the plaintext sign of x + y modulo
// 2^32: random shares, and sums at the edges (0, -1, the extremes, values
// that carry across each leaf boundary).
func TestSigns(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	edges := []int32{0, -1, 1, math.MaxInt32, math.MinInt32, math.MinInt32 + 1, math.MaxInt32 - 1}
	for off := 0; off < 32; off += 4 {
		edges = append(edges, int32(1<<off), -int32(1<<off), int32(1<<off)-1, -int32(1<<off)+1)
	}
	for _, cuts := range []int{1, 4, 7, 32} {
		const n = 500
		x := make([]uint32, n)
		y := make([]uint32, n*cuts)
		for i := range x {
			x[i] = r.Uint32()
			for j := range cuts {
				sum := uint32(r.Int32N(1<<20) - 1<<19)
				switch {
				case i%3 == 0:
					sum = uint32(edges[(i+j)%len(edges)])
				case i%3 == 1:
					sum = r.Uint32()
				}
				y[i*cuts+j] = sum - x[i]
			}
		}
		got, _ := compareLocal(t, c, o, x, y, cuts)
		for i := range x {
			for j := range cuts {
				require.Equal(t, want(x[i], y[i*cuts+j]), got[i*cuts+j], "cuts %d, record %d, cut %d: x %d + y %d = %d", cuts, i, j, x[i], y[i*cuts+j], int32(x[i]+y[i*cuts+j]))
			}
		}
	}
}

// TestManyBatches runs batches one after another on one OT session, as a
// scoring session does.
func TestManyBatches(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 4))
	for b := range 5 {
		n := 1 + b*37
		x, y := make([]uint32, n), make([]uint32, 2*n)
		for i := range x {
			x[i] = r.Uint32()
			y[2*i], y[2*i+1] = r.Uint32(), r.Uint32()
		}
		got, _ := compareLocal(t, c, o, x, y, 2)
		for i := range y {
			require.Equal(t, want(x[i/2], y[i]), got[i])
		}
	}
}

func TestInputErrors(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	_, err = NewHelper(c, nil, 1)
	require.ErrorIs(t, err, ErrInput)
	_, err = NewHelper(c, make([]uint32, 3), MaxCuts+1)
	require.ErrorIs(t, err, ErrInput)
	_, err = NewLearner(o, make([]uint32, 5), 2)
	require.ErrorIs(t, err, ErrInput)
	h, err := NewHelper(c, make([]uint32, 3), 2)
	require.NoError(t, err)
	_, _, err = h.Next(nil)
	require.ErrorIs(t, err, ErrState)
	l, err := NewLearner(o, make([]uint32, 6), 2)
	require.NoError(t, err)
	_, _, err = l.Next([]byte{1, 2, 3})
	require.ErrorIs(t, err, ErrMessage)
}
