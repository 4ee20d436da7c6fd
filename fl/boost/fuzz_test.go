package boost

import (
	"bytes"
	"testing"
)

// FuzzDecodeLevel feeds arbitrary level messages to the center's decoder:
// every row it returns is a training row, every computed node exists.
func FuzzDecodeLevel(f *testing.F) {
	f.Add(encodeLevel(level{Rows: [][]int32{{0, 1, 2}, {3}}, Compute: []int{1}}), 4)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 10)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = n & 0xffff
		l, err := decodeLevel(b, n)
		if err != nil {
			return
		}
		for _, r := range l.Rows {
			for _, i := range r {
				if i < 0 || int(i) >= n {
					t.Fatalf("row %d of %d accepted", i, n)
				}
			}
		}
		for _, c := range l.Compute {
			if c < 0 || c >= len(l.Rows) {
				t.Fatalf("compute %d of %d nodes accepted", c, len(l.Rows))
			}
		}
		if !bytes.Equal(encodeLevel(l), b) {
			t.Fatal("accepted a level message that does not re-encode to itself")
		}
	})
}

// FuzzDecodeGaps feeds arbitrary merged-bin messages to the bank's
// decoder: what it accepts keeps every feature's last bin and re-encodes
// to itself.
func FuzzDecodeGaps(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0, 0, 1, 1}, uint8(2), uint8(3))
	f.Add([]byte{1, 1, 0}, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, nodes, bins uint8) {
		nb := []int{int(bins%40) + 1, 3}
		gs, err := decodeGaps(b, int(nodes%8), nb)
		if err != nil {
			return
		}
		var out []byte
		for _, g := range gs {
			for f, fg := range g {
				if len(fg.Keep) != nb[f] || !fg.Keep[nb[f]-1] {
					t.Fatalf("accepted gaps %+v for %d bins", fg, nb[f])
				}
			}
			out = appendGaps(out, g)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("accepted merged bins that do not re-encode to themselves")
		}
	})
}

// FuzzLoadPassiveModel feeds arbitrary bytes to the center's model-half loader:
// it errors or returns a model whose importance can be computed.
func FuzzLoadPassiveModel(f *testing.F) {
	f.Add([]byte(`{"version":1,"party":"passive","binning":{"cuts":[[1,2]]},"splits":[{"tree":0,"node":0,"feature":0,"bin":1,"threshold":2,"missing_left":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadPassiveModel(bytes.NewReader(b))
		if err == nil {
			_ = m.Importance()
		}
	})
}
