package boost

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/model"
)

// A level sent in parts of one ciphertext per vector trains the same trees
// as a level sent whole.
func TestLevelInParts(t *testing.T) {
	const n, db, dc = 1500, 3, 4
	xb, xc, y := synthetic(n, db, dc, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 2, MaxDepth: 3}}
	whole, _ := trainPair(t, xb, xc, y, db, dc, opt)
	defer func(c int) { levelChunks = c }(levelChunks)
	levelChunks = 1
	parts, _ := trainPair(t, xb, xc, y, db, dc, opt)
	require.Equal(t, whole.Trees, parts.Trees)
	require.Equal(t, whole.Logits, parts.Logits)
}
