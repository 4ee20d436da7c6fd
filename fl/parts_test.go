package fl

import (
	"bytes"
	"math"
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

func TestFloats(t *testing.T) {
	v := []float64{0, math.Copysign(0, -1), 1.5, -math.MaxFloat64, math.SmallestNonzeroFloat64}
	b := AppendFloats([]byte("head"), v)
	require.Equal(t, "head", string(b[:4]), "AppendFloats appends")
	require.Len(t, b, 4+8*len(v))
	got, err := ParseFloats(b[4:], len(v))
	require.NoError(t, err)
	for i := range v {
		require.Equal(t, math.Float64bits(v[i]), math.Float64bits(got[i]), "value %d keeps its bits", i)
	}
	got, err = ParseFloats(AppendFloats(nil, nil), 0)
	require.NoError(t, err)
	require.Empty(t, got)

	for name, c := range map[string]struct {
		b    []byte
		n    int
		want string
	}{
		"short":        {b[4 : len(b)-8], len(v), "want 5 values"},
		"long":         {b[4:], len(v) - 1, "want 4 values"},
		"partial":      {b[4 : len(b)-3], len(v), "want 5 values"},
		"negative n":   {nil, -1, "want -1 values"},
		"NaN":          {AppendFloats(nil, []float64{1, math.NaN()}), 2, "value 1 is NaN"},
		"infinity":     {AppendFloats(nil, []float64{math.Inf(-1)}), 1, "value 0 is -Inf"},
		"overflow len": {make([]byte, 16), math.MaxInt / 4, "want"},
	} {
		_, err := ParseFloats(c.b, c.n)
		require.ErrorIs(t, err, ErrMalformed, name)
		require.ErrorIs(t, err, ErrProtocol, name)
		require.ErrorContains(t, err, c.want, name)
	}
}

// FuzzParseFloats: whatever the peer sends, ParseFloats refuses it or
// returns exactly n finite values that encode back to the payload.
func FuzzParseFloats(f *testing.F) {
	f.Add(AppendFloats(nil, []float64{1, -2.5}), 2)
	f.Add(AppendFloats(nil, []float64{math.NaN()}), 1)
	f.Add([]byte{1, 2, 3}, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		v, err := ParseFloats(b, n)
		if err != nil {
			require.ErrorIs(t, err, ErrProtocol)
			return
		}
		require.Len(t, v, n)
		for i, x := range v {
			require.False(t, math.IsNaN(x) || math.IsInf(x, 0), "value %d is %v", i, x)
		}
		require.Equal(t, b, AppendFloats([]byte{}, v))
	})
}

// TestPeerErrorsAreProtocolViolations: every error fl returns for what a
// peer sent matches ErrProtocol, and still its own sentinel or type.
func TestPeerErrorsAreProtocolViolations(t *testing.T) {
	_, err := SplitParts([]byte{9}, 1)
	require.ErrorIs(t, err, ErrParts)
	require.ErrorIs(t, err, ErrProtocol)

	ctx := testCtx(t)
	a, b := NewPipe()
	defer a.Close()
	defer b.Close()
	require.NoError(t, a.Send(ctx, Message{Type: "x.early", Payload: []byte{1}}))
	_, err = Expect(ctx, b, "x.wanted")
	var ue *UnexpectedMessageError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, ErrProtocol)
	_, err = Expect(ctx, a, "x.next") // the abort Expect sent
	require.ErrorIs(t, err, ErrPeerAborted)

	a, b = NewPipe()
	defer a.Close()
	defer b.Close()
	ra, rb := handshakePair(ctx, a, b, Hello{Role: RoleActive, Params: "hist13"}, Hello{Role: RolePassive, Params: "linear14"})
	for _, err := range []error{ra.err, rb.err} {
		require.ErrorIs(t, err, ErrParamsMismatch)
		require.ErrorIs(t, err, ErrProtocol)
	}
	for _, sentinel := range []error{ErrPeerVersion, ErrRoleConflict, ErrParamsMismatch, ErrRowsMismatch, ErrCommitment, ErrParts} {
		require.ErrorIs(t, sentinel, ErrProtocol)
		require.NotContains(t, sentinel.Error(), ErrProtocol.Error(), "a sentinel reads as its own message")
	}
	require.NotErrorIs(t, &AbortError{Reason: "tired"}, ErrProtocol, "an abort without a mismatch is the peer's choice, not a violation")
}
