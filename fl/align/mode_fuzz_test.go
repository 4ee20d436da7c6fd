package align

import (
	"bytes"
	"errors"
	"testing"

	"github.com/veil-fl/veil/mpc/psi"
)

// FuzzMode: the psi.mode decoder never panics, every error wraps
// psi.ErrMalformedMessage, and what it accepts re-encodes to the same
// bytes.
func FuzzMode(f *testing.F) {
	for _, m := range []mode{{proto: KKRT, fallback: true, ids: 5}, {proto: ECDH, hook: true, ids: 1 << 40}} {
		b, _ := m.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte("VPSM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m mode
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, psi.ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		again, _ := m.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("re-encoding differs")
		}
	})
}
