package fl

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParts(t *testing.T) {
	for _, parts := range [][][]byte{{}, {nil}, {[]byte("a"), nil, []byte("bcd")}} {
		got, err := SplitParts(JoinParts(parts...), len(parts))
		require.NoError(t, err)
		require.Len(t, got, len(parts))
		for i := range parts {
			require.True(t, bytes.Equal(parts[i], got[i]))
		}
	}
	b := JoinParts([]byte("ab"), []byte("c"))
	for name, bad := range map[string][]byte{
		"stray bytes": append(append([]byte(nil), b...), 1, 2),
		"truncated":   b[:len(b)-1],
		"huge length": {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		_, err := SplitParts(bad, 2)
		require.ErrorIs(t, err, ErrParts, name)
	}
	_, err := SplitParts(b, 3)
	require.ErrorIs(t, err, ErrParts)
	_, err = SplitParts(b, 1)
	require.ErrorIs(t, err, ErrParts)
}

func FuzzSplitParts(f *testing.F) {
	f.Add(JoinParts([]byte("ab"), []byte("c")), 2)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, want int) {
		if want < 0 || want > 1<<10 {
			return
		}
		parts, err := SplitParts(b, want)
		if err != nil {
			return
		}
		require.Len(t, parts, want)
		require.Equal(t, b, JoinParts(parts...), "a payload splits only into parts that join back to it")
	})
}
