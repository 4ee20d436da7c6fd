package ot

// transpose64 transposes a 64x64 bit matrix in place: afterwards bit i of
// a[j] is what bit j of a[i] was (Hacker's Delight, 7-3, with the bit order
// of Bits: bit 0 is the least significant).
func transpose64(a *[64]uint64) {
	m := uint64(0x00000000ffffffff)
	for j := 32; j != 0; j, m = j>>1, m^(m<<(j>>1)) {
		for k := 0; k < 64; k = (k + j + 1) &^ j {
			t := (a[k]>>j ^ a[k+j]) & m
			a[k] ^= t << j
			a[k+j] ^= t
		}
	}
}

// transposeColumns turns the Kappa columns of an IKNP matrix (column i: the
// bits of all OTs for base OT i, 64 OTs a word) into its rows, one Block per
// OT: bit i of row j is bit j of column i. rows has 64*len(cols[0]) entries.
func transposeColumns(cols *[Kappa][]uint64, rows []Block) {
	words := len(cols[0])
	parallel(words, func(lo, hi int) {
		var tile [64]uint64
		for w := lo; w < hi; w++ {
			for h := range 2 {
				for i := range 64 {
					tile[i] = cols[64*h+i][w]
				}
				transpose64(&tile)
				for j := range 64 {
					rows[64*w+j][h] = tile[j]
				}
			}
		}
	})
}
