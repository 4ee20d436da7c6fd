package fltest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

// TestAuditShortFractions: 0.75's float64 is six zero bytes and e8 3f,
// which zero padding followed by two bytes of random data holds one time
// in 2^16 (the false alarm TestWireAudit raised once in vlr.final). The
// audit does not search such binary patterns, but still finds the value's
// decimal forms and a full-precision value's binary form beside it.
func TestAuditShortFractions(t *testing.T) {
	padded := append(make([]byte, 64), 0xe8, 0x3f, 1, 2, 3)
	full := math.Pi / 7
	withFull := append(padded, float64LE(full)...)
	secrets := []Secret{{Name: "x", Values: []float64{0.75, full}}}
	leaks := Audit([]fl.Message{{Type: "t", Payload: withFull}}, secrets, nil)
	require.Len(t, leaks, 1, "%v", leaks)
	require.Equal(t, 1, leaks[0].Index)
	require.Equal(t, "float64 LE", leaks[0].Encoding)
	leaks = Audit([]fl.Message{{Type: "t", Payload: []byte(`{"rate":0.750000}`)}}, secrets, nil)
	require.NotEmpty(t, leaks)
	for _, l := range leaks {
		require.Equal(t, 0, l.Index)
	}
}
