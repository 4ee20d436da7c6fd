//go:build !amd64 || purego

package he

// histAVX512 is false where the AVX-512 leaves are not built.
var histAVX512 = false

func stage8AVX512(y *uint64, groups, h int, tw *uint64, q uint64) {
	panic("he: AVX-512 histogram kernel not built")
}

func macc8AVX512(acc, a, y *uint64, n int) {
	panic("he: AVX-512 histogram kernel not built")
}

func firstStage8AVX512(y *uint64, idx *uint16, t, tw *uint64, half int, twoQ uint64) {
	panic("he: AVX-512 histogram kernel not built")
}

func reduce8AVX512(dst, acc *uint64, n int, w *uint64, q uint64) {
	panic("he: AVX-512 histogram kernel not built")
}

func macc8x4AVX512(acc, a0, a1, a2, a3, y0, y1, y2, y3 *uint64, n int) {
	panic("he: AVX-512 histogram kernel not built")
}
