package ot

import "testing"

// FuzzPeerMessages feeds arbitrary bytes to every step that takes a peer's
// message: errors, never a panic. The session is set up once (a setup costs
// 50 ms); malformed messages leave it unchanged.
func FuzzPeerMessages(f *testing.F) {
	_, m1, err := NewChooser()
	if err != nil {
		f.Fatal(err)
	}
	mid, m2, err := NewOfferer(m1) // Finish consumes it only on valid seeds
	if err != nil {
		f.Fatal(err)
	}
	c, o, err := Local()
	if err != nil {
		f.Fatal(err)
	}
	fresh, _, err := NewChooser() // Accept consumes it only on a valid answer
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m1, uint8(0))
	f.Add(m2, uint8(1))
	f.Add(make([]byte, extensionBytes(128)), uint8(3))
	f.Add([]byte{1, 2, 3}, uint8(4))
	f.Fuzz(func(t *testing.T, msg []byte, step uint8) {
		switch step % 5 {
		case 0:
			NewOfferer(msg)
		case 1:
			if _, err := fresh.Accept(msg); err == nil {
				fresh, _, _ = NewChooser()
			}
		case 2:
			if mid.Finish(msg) == nil {
				mid, _, _ = NewOfferer(m1)
			}
		case 3:
			if ob, err := o.Extend(128, msg); err == nil {
				ob.Offer(0, 32, 4, 8, msg[:16], func(int, uint) uint64 { return 1 })
				ob.Correlate(0, 100, 32, func(int) uint64 { return 1 })
			}
		case 4:
			cb, _, err := c.Extend(128, nil)
			if err != nil {
				t.Fatal(err)
			}
			cb.Receive(0, 32, 4, 8, func(i int) uint { return uint(i) }, msg)
			cb.Correlate(0, 100, 32, msg)
			ob, err := o.Extend(128, make([]byte, extensionBytes(128)))
			if err != nil {
				t.Fatal(err)
			}
			ob.Offer(0, 32, 4, 8, msg, func(int, uint) uint64 { return 1 })
		}
	})
}
