//go:build amd64 && !purego

#include "textflag.h"

// func stage8AVX512(y *uint64, groups, h int, tw *uint64, q uint64)
//
// One stage of lazy Cooley-Tukey butterflies on rows of eight lanes: for
// group g (twiddle F = tw[2g], Shoup quotient F' = tw[2g+1]) and row j of
// the group's first half, X = row g*2h+j, Z = row g*2h+j+h:
//   u = X reduced below 2q, v = Z*F mod q in [0, 2q) (Shoup),
//   X = u + v, Z = u + 2q - v.
// Inputs below 4q stay below 4q.
TEXT ·stage8AVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ groups+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ tw+24(FP), SI
	MOVQ q+32(FP), AX
	VPBROADCASTQ AX, Z31          // q
	VPADDQ       Z31, Z31, Z30    // 2q
	MOVQ         $0xffffffff, BX
	VPBROADCASTQ BX, Z29          // low 32 bits
	MOVQ         DX, R8
	SHLQ         $6, R8           // bytes from row X to row Z

group:
	VPBROADCASTQ 0(SI), Z28       // F
	VPBROADCASTQ 8(SI), Z27       // F' (its low half for VPMULUDQ)
	VPSRLQ       $32, Z27, Z26    // F' high half
	MOVQ         DX, R9
	MOVQ         DI, R10

row:
	VMOVDQU64 (R10), Z0           // X
	VMOVDQU64 (R10)(R8*1), Z1     // Z
	VPSUBQ    Z30, Z0, Z2
	VPMINUQ   Z0, Z2, Z0          // u = X < 2q ? X : X - 2q

	// qhat = high 64 bits of Z*F', from 32-bit halves
	VPSRLQ   $32, Z1, Z3          // Z high
	VPMULUDQ Z1, Z27, Z4          // lo*lo
	VPMULUDQ Z1, Z26, Z5          // lo*hi
	VPMULUDQ Z3, Z27, Z6          // hi*lo
	VPMULUDQ Z3, Z26, Z7          // hi*hi
	VPSRLQ   $32, Z4, Z4
	VPADDQ   Z4, Z5, Z5           // t = lo*hi + (lo*lo >> 32)
	VPANDQ   Z29, Z5, Z8
	VPADDQ   Z8, Z6, Z6           // t2 = hi*lo + (t & mask)
	VPSRLQ   $32, Z5, Z5
	VPSRLQ   $32, Z6, Z6
	VPADDQ   Z5, Z7, Z7
	VPADDQ   Z6, Z7, Z7           // qhat

	VPMULLQ Z28, Z1, Z1           // Z*F mod 2^64
	VPMULLQ Z31, Z7, Z7           // qhat*q mod 2^64
	VPSUBQ  Z7, Z1, Z1            // v = Z*F - qhat*q in [0, 2q)

	VPADDQ    Z1, Z0, Z2          // u + v
	VPADDQ    Z30, Z0, Z0
	VPSUBQ    Z1, Z0, Z0          // u + 2q - v
	VMOVDQU64 Z2, (R10)
	VMOVDQU64 Z0, (R10)(R8*1)
	ADDQ      $64, R10
	DECQ      R9
	JNZ       row

	LEAQ (DI)(R8*2), DI
	ADDQ $16, SI
	DECQ CX
	JNZ  group
	VZEROUPPER
	RET

// func macc8AVX512(acc *uint64, a *uint64, y *uint64, n int)
//
// For each of n coefficients j: acc[j] (three limbs of eight lanes, weights
// 2^0, 2^52, 2^104) += a[j] * y[j] lane by lane, with IFMA on 52-bit halves:
// a = ah*2^52 + al, y = yh*2^52 + yl (the instructions read the low 52 bits
// of al and yl themselves).
TEXT ·macc8AVX512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX

loop:
	VMOVDQU64    (DX), Z0          // y
	VPSRLQ       $52, Z0, Z1       // yh
	MOVQ         (SI), AX
	SHRQ         $52, AX
	VPBROADCASTQ AX, Z2            // ah
	VMOVDQU64    0(DI), Z3
	VMOVDQU64    64(DI), Z4
	VMOVDQU64    128(DI), Z5
	VPMADD52LUQ.BCST (SI), Z0, Z3  // limb 0 += lo(al*yl)
	VPMADD52HUQ.BCST (SI), Z0, Z4  // limb 1 += hi(al*yl)
	VPMADD52LUQ      Z2, Z0, Z4    //         + lo(ah*yl)
	VPMADD52LUQ.BCST (SI), Z1, Z4  //         + lo(al*yh)
	VPMADD52HUQ      Z2, Z0, Z5    // limb 2 += hi(ah*yl)
	VPMADD52HUQ.BCST (SI), Z1, Z5  //         + hi(al*yh)
	VPMADD52LUQ      Z2, Z1, Z5    //         + lo(ah*yh)
	VMOVDQU64    Z3, 0(DI)
	VMOVDQU64    Z4, 64(DI)
	VMOVDQU64    Z5, 128(DI)
	ADDQ         $192, DI
	ADDQ         $8, SI
	ADDQ         $64, DX
	DECQ         CX
	JNZ          loop
	VZEROUPPER
	RET

// func firstStage8AVX512(y *uint64, idx *uint16, t, tw *uint64, half int, twoQ uint64)
//
// The first butterfly stage from the tables: for row j < half and lane i,
// u = t[idx[j*8+i]], v = tw[idx[(j+half)*8+i]], row j = u + v and row
// j+half = u + 2q - v.
TEXT ·firstStage8AVX512(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         idx+8(FP), SI
	MOVQ         t+16(FP), AX
	MOVQ         tw+24(FP), BX
	MOVQ         half+32(FP), CX
	MOVQ         twoQ+40(FP), DX
	VPBROADCASTQ DX, Z30
	MOVQ         CX, R8
	SHLQ         $4, R8           // bytes from index row j to row j+half
	MOVQ         CX, R9
	SHLQ         $6, R9           // bytes from value row j to row j+half

first:
	VPMOVZXWQ  (SI), Z0
	VPMOVZXWQ  (SI)(R8*1), Z1
	KXNORB     K1, K1, K1
	KXNORB     K2, K2, K2
	VPGATHERQQ (AX)(Z0*8), K1, Z2
	VPGATHERQQ (BX)(Z1*8), K2, Z3
	VPADDQ     Z3, Z2, Z4
	VPADDQ     Z30, Z2, Z5
	VPSUBQ     Z3, Z5, Z5
	VMOVDQU64  Z4, (DI)
	VMOVDQU64  Z5, (DI)(R9*1)
	ADDQ       $16, SI
	ADDQ       $64, DI
	DECQ       CX
	JNZ        first
	VZEROUPPER
	RET
