#include "textflag.h"

// AVX2 loops over float32 vectors, 8 elements at a time; n is a multiple of 8 (simd_amd64.go handles the tail).
// Go's assembler writes operands source first: VSUBPS b, a, dst is dst = a − b.

DATA ·f32one<>+0(SB)/4, $0x3f800000
GLOBL ·f32one<>(SB), RODATA|NOPTR, $4
DATA ·f32minusone<>+0(SB)/4, $0xbf800000
GLOBL ·f32minusone<>(SB), RODATA|NOPTR, $4
DATA ·f32signbit<>+0(SB)/4, $0x80000000
GLOBL ·f32signbit<>(SB), RODATA|NOPTR, $4

// func addF32(d, a, b *float32, n int)
TEXT ·addF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ addDone
addLoop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ addLoop
addDone:
	VZEROUPPER
	RET

// func subF32(d, a, b *float32, n int)
TEXT ·subF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ subDone
subLoop:
	VMOVUPS (SI), Y0
	VSUBPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ subLoop
subDone:
	VZEROUPPER
	RET

// func mulF32(d, a, b *float32, n int)
TEXT ·mulF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ mulDone
mulLoop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ mulLoop
mulDone:
	VZEROUPPER
	RET

// func divF32(d, a, b *float32, n int)
TEXT ·divF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ divDone
divLoop:
	VMOVUPS (SI), Y0
	VDIVPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ divLoop
divDone:
	VZEROUPPER
	RET

// func maxF32(d, a, b *float32, n int): Go's max: NaN if either is NaN, max(−0, +0) = +0.
TEXT ·maxF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ maxDone
maxLoop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMAXPS Y1, Y0, Y2
	VCMPPS $0x00, Y1, Y0, Y3 // a == b (equal zeros of either sign among them)
	VANDPS Y1, Y0, Y4        // then a & b: +0 unless both are −0
	VBLENDVPS Y3, Y4, Y2, Y2
	VCMPPS $0x03, Y1, Y0, Y3 // unordered: a NaN on either side
	VADDPS Y1, Y0, Y4
	VBLENDVPS Y3, Y4, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ maxLoop
maxDone:
	VZEROUPPER
	RET

// func minF32(d, a, b *float32, n int): Go's min: NaN if either is NaN, min(−0, +0) = −0.
TEXT ·minF32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ minDone
minLoop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMINPS Y1, Y0, Y2
	VCMPPS $0x00, Y1, Y0, Y3
	VORPS Y1, Y0, Y4 // a | b: −0 if either is −0
	VBLENDVPS Y3, Y4, Y2, Y2
	VCMPPS $0x03, Y1, Y0, Y3
	VADDPS Y1, Y0, Y4
	VBLENDVPS Y3, Y4, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ minLoop
minDone:
	VZEROUPPER
	RET

// func sqrtF32(d, a *float32, n int)
TEXT ·sqrtF32(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ sqrtDone
sqrtLoop:
	VSQRTPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ sqrtLoop
sqrtDone:
	VZEROUPPER
	RET

// func negF32(d, a *float32, n int)
TEXT ·negF32(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS ·f32signbit<>(SB), Y1
	SHRQ $3, CX
	JZ negDone
negLoop:
	VXORPS (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ negLoop
negDone:
	VZEROUPPER
	RET

// func signF32(d, a *float32, n int): +1 for x > 0, −1 for x < 0, 0 for ±0 and NaN.
TEXT ·signF32(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS ·f32one<>(SB), Y4
	VBROADCASTSS ·f32minusone<>(SB), Y5
	VXORPS Y6, Y6, Y6
	SHRQ $3, CX
	JZ signDone
signLoop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y6, Y0, Y1 // x > 0 (ordered)
	VCMPPS $0x11, Y6, Y0, Y2 // x < 0 (ordered)
	VANDPS Y4, Y1, Y1
	VANDPS Y5, Y2, Y2
	VORPS Y2, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ signLoop
signDone:
	VZEROUPPER
	RET

// func scatter2x2F32(y0, y1, y2, y3, x0, x1, x2, x3, grad *float32, isMax bool, n int): the gradient of 2×2 max (min)
// pooling for 8 channels at a time: the first extreme of x0…x3 (a later one wins only when strictly better, NaNs
// never) receives g, the other three 0.
TEXT ·scatter2x2F32(SB), NOSPLIT, $0-88
	MOVQ y0+0(FP), R8
	MOVQ y1+8(FP), R9
	MOVQ y2+16(FP), R10
	MOVQ y3+24(FP), R11
	MOVQ x0+32(FP), R12
	MOVQ x1+40(FP), R13
	MOVQ x2+48(FP), BX
	MOVQ x3+56(FP), DI
	MOVQ grad+64(FP), SI
	MOVBQZX isMax+72(FP), AX
	MOVQ n+80(FP), CX
	SHRQ $3, CX
	JZ scDone
	XORQ DX, DX
scLoop:
	VMOVUPS (R12)(DX*1), Y0 // best = x0
	VMOVUPS (R13)(DX*1), Y1
	VMOVUPS (BX)(DX*1), Y2
	VMOVUPS (DI)(DX*1), Y3
	TESTQ AX, AX
	JZ scMin
	VCMPPS $0x1e, Y0, Y1, Y4 // gt1 = x1 > best
	VBLENDVPS Y4, Y1, Y0, Y0 // best = gt1 ? x1 : best
	VCMPPS $0x1e, Y0, Y2, Y5 // gt2 = x2 > best
	VBLENDVPS Y5, Y2, Y0, Y0
	VCMPPS $0x1e, Y0, Y3, Y6 // gt3 = x3 > best
	JMP scSelect
scMin:
	VCMPPS $0x11, Y0, Y1, Y4 // x1 < best
	VBLENDVPS Y4, Y1, Y0, Y0
	VCMPPS $0x11, Y0, Y2, Y5
	VBLENDVPS Y5, Y2, Y0, Y0
	VCMPPS $0x11, Y0, Y3, Y6
scSelect:
	VMOVUPS (SI), Y7          // g
	VANDPS Y6, Y7, Y8         // y3 = g where gt3
	VMOVUPS Y8, (R11)(DX*1)
	VANDNPS Y5, Y6, Y5        // sel2 = gt2 &^ gt3 (Go's order: VANDNPS a, b, dst sets dst = a &^ b)
	VANDPS Y5, Y7, Y8
	VMOVUPS Y8, (R10)(DX*1)
	VORPS Y5, Y6, Y6          // taken = gt3 | sel2
	VANDNPS Y4, Y6, Y4        // sel1 = gt1 & !taken
	VANDPS Y4, Y7, Y8
	VMOVUPS Y8, (R9)(DX*1)
	VORPS Y4, Y6, Y6          // taken |= sel1
	VANDNPS Y7, Y6, Y8        // y0 = g & !taken
	VMOVUPS Y8, (R8)(DX*1)
	ADDQ $32, DX
	ADDQ $32, SI
	DECQ CX
	JNZ scLoop
scDone:
	VZEROUPPER
	RET

// Narrow matrix products c[m, n] = a[m, k] · b[k, n] for n = 8, 4 and 16 (row-major, m a multiple of the rows
// per block: 8, 8 and 4), with fused multiply-adds: each row of c is a broadcast element of a times a row of b,
// accumulated over k, with eight independent accumulators to hide the latency of the FMAs.

// func gemmN8(c, a, b *float32, m, k int)
TEXT ·gemmN8(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ k+32(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9 // lda in bytes
	SHRQ $3, CX
	JZ n8Done
n8Block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, R10 // a row 0, element kk
	MOVQ DX, R11 // b row kk
	MOVQ R8, R12
	LEAQ (R9)(R9*2), R13 // 3·lda
n8K:
	VMOVUPS (R11), Y8
	VBROADCASTSS (R10), Y9
	VFMADD231PS Y8, Y9, Y0
	VBROADCASTSS (R10)(R9*1), Y9
	VFMADD231PS Y8, Y9, Y1
	VBROADCASTSS (R10)(R9*2), Y9
	VFMADD231PS Y8, Y9, Y2
	VBROADCASTSS (R10)(R13*1), Y9
	VFMADD231PS Y8, Y9, Y3
	LEAQ (R10)(R9*4), R14
	VBROADCASTSS (R14), Y9
	VFMADD231PS Y8, Y9, Y4
	VBROADCASTSS (R14)(R9*1), Y9
	VFMADD231PS Y8, Y9, Y5
	VBROADCASTSS (R14)(R9*2), Y9
	VFMADD231PS Y8, Y9, Y6
	VBROADCASTSS (R14)(R13*1), Y9
	VFMADD231PS Y8, Y9, Y7
	ADDQ $4, R10
	ADDQ $32, R11
	DECQ R12
	JNZ n8K
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	LEAQ (SI)(R9*8), SI
	DECQ CX
	JNZ n8Block
n8Done:
	VZEROUPPER
	RET

// func gemmN4(c, a, b *float32, m, k int)
TEXT ·gemmN4(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ k+32(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9
	SHRQ $3, CX
	JZ n4Done
n4Block:
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12
	LEAQ (R9)(R9*2), R13
n4K:
	VMOVUPS (R11), X8
	VBROADCASTSS (R10), X9
	VFMADD231PS X8, X9, X0
	VBROADCASTSS (R10)(R9*1), X9
	VFMADD231PS X8, X9, X1
	VBROADCASTSS (R10)(R9*2), X9
	VFMADD231PS X8, X9, X2
	VBROADCASTSS (R10)(R13*1), X9
	VFMADD231PS X8, X9, X3
	LEAQ (R10)(R9*4), R14
	VBROADCASTSS (R14), X9
	VFMADD231PS X8, X9, X4
	VBROADCASTSS (R14)(R9*1), X9
	VFMADD231PS X8, X9, X5
	VBROADCASTSS (R14)(R9*2), X9
	VFMADD231PS X8, X9, X6
	VBROADCASTSS (R14)(R13*1), X9
	VFMADD231PS X8, X9, X7
	ADDQ $4, R10
	ADDQ $16, R11
	DECQ R12
	JNZ n4K
	VMOVUPS X0, (DI)
	VMOVUPS X1, 16(DI)
	VMOVUPS X2, 32(DI)
	VMOVUPS X3, 48(DI)
	VMOVUPS X4, 64(DI)
	VMOVUPS X5, 80(DI)
	VMOVUPS X6, 96(DI)
	VMOVUPS X7, 112(DI)
	ADDQ $128, DI
	LEAQ (SI)(R9*8), SI
	DECQ CX
	JNZ n4Block
n4Done:
	VZEROUPPER
	RET

// func gemmN16(c, a, b *float32, m, k int): four rows at a time, two vectors per row.
TEXT ·gemmN16(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ k+32(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9
	SHRQ $2, CX
	JZ n16Done
n16Block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12
	LEAQ (R9)(R9*2), R13
n16K:
	VMOVUPS (R11), Y8
	VMOVUPS 32(R11), Y10
	VBROADCASTSS (R10), Y9
	VFMADD231PS Y8, Y9, Y0
	VFMADD231PS Y10, Y9, Y1
	VBROADCASTSS (R10)(R9*1), Y9
	VFMADD231PS Y8, Y9, Y2
	VFMADD231PS Y10, Y9, Y3
	VBROADCASTSS (R10)(R9*2), Y9
	VFMADD231PS Y8, Y9, Y4
	VFMADD231PS Y10, Y9, Y5
	VBROADCASTSS (R10)(R13*1), Y9
	VFMADD231PS Y8, Y9, Y6
	VFMADD231PS Y10, Y9, Y7
	ADDQ $4, R10
	ADDQ $64, R11
	DECQ R12
	JNZ n16K
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	LEAQ (SI)(R9*4), SI
	DECQ CX
	JNZ n16Block
n16Done:
	VZEROUPPER
	RET
