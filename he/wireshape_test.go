package he

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSharedShapeWire: on a link fast enough to cost nothing it is
// SharedShape; at 100 Mbit/s a long training packs the bank's 31 columns in
// one block instead of four (a quarter of the weights' and gradients'
// bytes), and a short one saves rotation keys instead.
func TestSharedShapeWire(t *testing.T) {
	p := MustParams(Shared15)
	for _, c := range []struct{ rows, cols int }{{100000, 31}, {100000, 300}, {20000, 9}, {700, 1}} {
		require.Equal(t, SharedShape(p, c.rows, c.cols), SharedShapeWire(p, c.rows, c.cols, 1000, 1e30), "%+v", c)
	}
	long := SharedShapeWire(p, 100000, 31, 1000, 0)
	require.Equal(t, 4, SharedShape(p, 100000, 31).Blocks)
	require.Equal(t, 1, long.Blocks)
	keys := func(s MatrixShape) int { return len(s.Rotations()) }
	short := SharedShapeWire(p, 20000, 9, 3, 0)
	require.Less(t, keys(short), keys(SharedShape(p, 20000, 9)))
	for _, s := range []MatrixShape{long, short} {
		require.LessOrEqual(t, keys(s), maxSharedKeys)
	}
}
