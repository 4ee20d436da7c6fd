package compare

import (
	"testing"

	"github.com/veil-fl/veil/mpc/ot"
)

// FuzzPeerMessages runs a batch honestly up to a step and then feeds
// arbitrary bytes to both sides as that step's message: errors, never a
// panic. One OT session serves every run.
func FuzzPeerMessages(f *testing.F) {
	c, o, err := ot.Local()
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewHelper(c, []uint32{1, 2, 3}, 2)
	if err != nil {
		f.Fatal(err)
	}
	start, err := h.Start()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(start, uint8(0))
	f.Add([]byte{0, 0}, uint8(1))
	f.Add([]byte{200, 1, 5}, uint8(3))
	f.Fuzz(func(t *testing.T, msg []byte, step uint8) {
		x, y := []uint32{1, 2, 3}, []uint32{4, 5, 6, 7, 8, 9}
		h, err := NewHelper(c, x, 2)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLearner(o, y, 2)
		if err != nil {
			t.Fatal(err)
		}
		m, err := h.Start()
		if err != nil {
			t.Fatal(err)
		}
		for range step % 6 {
			out, done, err := l.Next(m)
			if err != nil || done {
				return
			}
			if m, _, err = h.Next(out); err != nil {
				return
			}
		}
		l.Next(msg)
		h.Next(msg)
	})
}
