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
