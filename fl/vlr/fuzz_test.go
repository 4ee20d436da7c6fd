package vlr

import (
	"testing"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// FuzzUnmarshalVectors feeds arbitrary payloads to the decoder of the
// powers and residual messages: it must refuse or return exactly the
// vectors asked for, never panic or allocate beyond the payload.
func FuzzUnmarshalVectors(f *testing.F) {
	p := he.MustParams(he.Linear14)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("fuzz-seed-0123456789abcdef012345"))
	if err != nil {
		f.Fatal(err)
	}
	v, err := a.Encrypt([]float64{1, 2, 3})
	if err != nil {
		f.Fatal(err)
	}
	one, err := marshalVectors(p, []*he.Vector{v})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(one, 1)
	f.Add(one[:40], 1)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 'V', 'H'}, 2)
	f.Add(append(one, one...), 2)
	f.Fuzz(func(t *testing.T, b []byte, want int) {
		want = want & 7
		vs, err := unmarshalVectors(p, b, want)
		if err == nil && len(vs) != want {
			t.Fatalf("%d vectors, want %d", len(vs), want)
		}
		if _, perr := fl.SplitParts(b, want); perr != nil && err == nil {
			t.Fatalf("accepted a payload fl.SplitParts refuses: %v", perr)
		}
	})
}
