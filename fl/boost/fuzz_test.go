package boost

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzDecodeLevel feeds arbitrary level messages to the center's decoder,
// below a previous level of two nodes (the rows' halves): every row it
// returns is a training row, every computed node exists, a level given by
// its rows re-encodes to itself and one given by splits splits its parents
// (each pair of children holds its parent's rows, in order).
func FuzzDecodeLevel(f *testing.F) {
	f.Add(encodeLevel(level{Rows: [][]int32{{0, 1, 2}, {3}}, Compute: []int{1}}), 4)
	f.Add(encodeLevelSplits([]int{0, 1}, [][]byte{{1}, {2}}, []int{0, 3}), 4)
	f.Add(appendCompute([]byte{levelRoot}, []int{0}), 4)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 10)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = n & 0xffff
		prev := [][]int32{{}, {}}
		for i := range n {
			prev[i*2/max(n, 1)] = append(prev[i*2/max(n, 1)], int32(i))
		}
		l, err := decodeLevel(b, n, prev)
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
		if b[0] == levelRoot {
			t.Fatal("a root level accepted below another level")
		}
		if b[0] == levelSplits {
			for k := 0; k < len(l.Rows); k += 2 {
				got := append(append([]int32{}, l.Rows[k]...), l.Rows[k+1]...)
				slices.Sort(got)
				if !slices.Equal(got, prev[0]) && !slices.Equal(got, prev[1]) {
					t.Fatalf("children %d and %d do not split a parent", k, k+1)
				}
			}
			return
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
