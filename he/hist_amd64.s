//go:build amd64 && !purego

#include "textflag.h"

// MULHI64 sets hi to the high 64 bits of x*y lane by lane; yh holds y >> 32
// (the low halves are read by VPMULUDQ itself); mask holds 2^32-1; t0..t3
// are clobbered.
#define MULHI64(x, y, yh, mask, t0, t1, t2, t3, hi) \
	VPSRLQ   $32, x, t0  \
	VPMULUDQ x, y, t1    \
	VPMULUDQ x, yh, t2   \
	VPMULUDQ t0, y, t3   \
	VPMULUDQ t0, yh, hi  \
	VPSRLQ   $32, t1, t1 \
	VPADDQ   t1, t2, t2  \
	VPANDQ   mask, t2, t1 \
	VPADDQ   t1, t3, t3  \
	VPSRLQ   $32, t2, t2 \
	VPSRLQ   $32, t3, t3 \
	VPADDQ   t2, hi, hi  \
	VPADDQ   t3, hi, hi

// SHOUP sets r to x*w mod q in [0, 2q) (Shoup: ws = floor(w*2^64/q),
// wsh = ws >> 32).
#define SHOUP(x, w, ws, wsh, q, mask, t0, t1, t2, t3, t4, r) \
	MULHI64(x, ws, wsh, mask, t0, t1, t2, t3, t4) \
	VPMULLQ w, x, r  \
	VPMULLQ q, t4, t4 \
	VPSUBQ  t4, r, r

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
	SHOUP(Z1, Z28, Z27, Z26, Z31, Z29, Z3, Z4, Z5, Z6, Z7, Z1) // v = Z*F mod q in [0, 2q)

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

// func reduce8AVX512(dst *uint64, acc *uint64, n int, w *uint64, q uint64)
//
// For each of n coefficients: dst[j*8+lane] = sum_i limb_i * w[2i] mod q,
// fully reduced, with w[2i+1] the Shoup quotient of w[2i]; acc holds three
// limbs of eight lanes per coefficient.
TEXT ·reduce8AVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         w+24(FP), DX
	MOVQ         q+32(FP), AX
	VPBROADCASTQ AX, Z31           // q
	VPADDQ       Z31, Z31, Z30     // 2q
	MOVQ         $0xffffffff, BX
	VPBROADCASTQ BX, Z29
	VPBROADCASTQ 0(DX), Z20        // w0
	VPBROADCASTQ 8(DX), Z21        // w0'
	VPSRLQ       $32, Z21, Z22
	VPBROADCASTQ 16(DX), Z23       // w1
	VPBROADCASTQ 24(DX), Z24       // w1'
	VPSRLQ       $32, Z24, Z25
	VPBROADCASTQ 32(DX), Z26       // w2
	VPBROADCASTQ 40(DX), Z27       // w2'
	VPSRLQ       $32, Z27, Z28

red:
	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	SHOUP(Z0, Z20, Z21, Z22, Z31, Z29, Z10, Z11, Z12, Z13, Z14, Z3)
	SHOUP(Z1, Z23, Z24, Z25, Z31, Z29, Z10, Z11, Z12, Z13, Z14, Z4)
	SHOUP(Z2, Z26, Z27, Z28, Z31, Z29, Z10, Z11, Z12, Z13, Z14, Z5)
	VPADDQ    Z4, Z3, Z3           // below 4q
	VPSUBQ    Z30, Z3, Z6
	VPMINUQ   Z3, Z6, Z3           // below 2q
	VPADDQ    Z5, Z3, Z3           // below 4q
	VPSUBQ    Z30, Z3, Z6
	VPMINUQ   Z3, Z6, Z3           // below 2q
	VPSUBQ    Z31, Z3, Z6
	VPMINUQ   Z3, Z6, Z3           // below q
	VMOVDQU64 Z3, (DI)
	ADDQ      $192, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       red
	VZEROUPPER
	RET

// MACC1 adds a[j]*y[j] (a at ap, y at yp) to the limbs in Z3..Z5, as
// macc8AVX512 does; clobbers Z0..Z2 and AX.
#define MACC1(yp, ap) \
	VMOVDQU64        (yp), Z0     \
	VPSRLQ           $52, Z0, Z1  \
	MOVQ             (ap), AX     \
	SHRQ             $52, AX      \
	VPBROADCASTQ     AX, Z2       \
	VPMADD52LUQ.BCST (ap), Z0, Z3 \
	VPMADD52HUQ.BCST (ap), Z0, Z4 \
	VPMADD52LUQ      Z2, Z0, Z4   \
	VPMADD52LUQ.BCST (ap), Z1, Z4 \
	VPMADD52HUQ      Z2, Z0, Z5   \
	VPMADD52HUQ.BCST (ap), Z1, Z5 \
	VPMADD52LUQ      Z2, Z1, Z5

// func macc8x4AVX512(acc, a0, a1, a2, a3, y0, y1, y2, y3 *uint64, n int)
//
// macc8AVX512 for four chunks at once (a_i with y_i), the limbs kept in
// registers across them.
TEXT ·macc8x4AVX512(SB), NOSPLIT, $0-80
	MOVQ acc+0(FP), DI
	MOVQ a0+8(FP), R8
	MOVQ a1+16(FP), R9
	MOVQ a2+24(FP), R10
	MOVQ a3+32(FP), R11
	MOVQ y0+40(FP), R12
	MOVQ y1+48(FP), R13
	MOVQ y2+56(FP), SI
	MOVQ y3+64(FP), DX
	MOVQ n+72(FP), CX

loop4:
	VMOVDQU64 0(DI), Z3
	VMOVDQU64 64(DI), Z4
	VMOVDQU64 128(DI), Z5
	MACC1(R12, R8)
	MACC1(R13, R9)
	MACC1(SI, R10)
	MACC1(DX, R11)
	VMOVDQU64 Z3, 0(DI)
	VMOVDQU64 Z4, 64(DI)
	VMOVDQU64 Z5, 128(DI)
	ADDQ      $192, DI
	ADDQ      $8, R8
	ADDQ      $8, R9
	ADDQ      $8, R10
	ADDQ      $8, R11
	ADDQ      $64, R12
	ADDQ      $64, R13
	ADDQ      $64, SI
	ADDQ      $64, DX
	DECQ      CX
	JNZ       loop4
	VZEROUPPER
	RET
