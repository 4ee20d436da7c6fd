package ot

// Transpose64 transposes a 64x64 bit matrix in place: afterwards bit i of
// a[j] is what bit j of a[i] was (bit 0 is the least significant). It is
// the tile of the IKNP matrix transposition, exported for OT extensions of
// other widths (mpc/psi's KKRT OPRF transposes 512-bit rows with it).
func Transpose64(a *[64]uint64) { transpose64(a) }
