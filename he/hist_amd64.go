//go:build amd64 && !purego

package he

import "golang.org/x/sys/cpu"

// histAVX512 selects the AVX-512 (IFMA) leaves of the histogram kernel.
var histAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512IFMA

//go:noescape
func stage8AVX512(y *uint64, groups, h int, tw *uint64, q uint64)

//go:noescape
func macc8AVX512(acc, a, y *uint64, n int)

//go:noescape
func firstStage8AVX512(y *uint64, idx *uint16, t, tw *uint64, half int, twoQ uint64)

//go:noescape
func reduce8AVX512(dst, acc *uint64, n int, w *uint64, q uint64)

//go:noescape
func macc8x4AVX512(acc, a0, a1, a2, a3, y0, y1, y2, y3 *uint64, n int)
