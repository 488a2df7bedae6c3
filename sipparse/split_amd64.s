//go:build amd64 && !purego

#include "textflag.h"

// The two splitters share all but their chunk loads, which these macros
// give: LOADLF loads the chunk at BX and sets CX to its LF mask; COLONS
// sets DX to its colon mask.

// SPLIT is the body of a splitter reading CHUNK bytes at a time.
//
// SI b, R8 blen, AX pos, R9 hmax, DI out, R10 nout, R11 n,
// BX chunk start, CX LF, R12 colon (-1: none yet), R14 header ID,
// DX and R13 scratch; X12 sixteen 0x20s, X13 sixteen CRs. NAME16 and CMPROW are the SSE or
// VEX forms of the name comparison.
#define SPLIT(CHUNK, LOADLF, COLONS, NAME16, CMPROW, DONE) \
line: \
	CMPQ R11, R10 \
	JGE stop \
	LEAQ 2(AX), DX \
	CMPQ DX, R9 \
	JGT stop \
	MOVWLZX (SI)(AX*1), DX \
	CMPL DX, $0x0a0d \ // "\r\n" read little-endian
	JEQ empty \
	MOVQ AX, BX \
	MOVQ $-1, R12 \
chunk: \
	LEAQ CHUNK(BX), DX \
	CMPQ DX, R8 \
	JGT tail \
	LOADLF \
	TESTQ R12, R12 \
	JGE nocolon \
	COLONS \
	TESTL DX, DX \
	JEQ nocolon \
	BSFL DX, DX \
	ADDQ BX, DX \
	MOVQ DX, R12 \
nocolon: \
	TESTL CX, CX \
	JNE found \
	ADDQ $CHUNK, BX \
	JMP chunk \
tail: \ // fewer than CHUNK bytes left: the last CHUNK of b, shifted
	CMPQ BX, R8 \
	JGE stop \
	MOVQ R8, DX \
	SUBQ $CHUNK, DX \
	JL bytes \ // b is shorter than a chunk
	MOVQ BX, R13 \
	MOVQ DX, BX \
	LOADLF \
	COLONS \
	XCHGQ R13, CX \ // R13: the LF mask; CX: the chunk start
	SUBQ BX, CX \ // CX: how many bytes of the last CHUNK were scanned already
	SHRQ CX, R13 \
	SHRQ CX, DX \
	ADDQ CX, BX \ // back to the chunk start
	MOVQ R13, CX \
	TESTQ R12, R12 \
	JGE tailLF \
	TESTL DX, DX \
	JEQ tailLF \
	BSFL DX, DX \
	ADDQ BX, DX \
	MOVQ DX, R12 \
tailLF: \
	TESTL CX, CX \
	JEQ stop \
	JMP found \
bytes: \ // one at a time
	CMPQ BX, R8 \
	JGE stop \
	MOVBLZX (SI)(BX*1), DX \
	CMPB DX, $0x0a \
	JEQ byteLF \
	CMPB DX, $0x3a \
	JNE byteNext \
	TESTQ R12, R12 \
	JGE byteNext \
	MOVQ BX, R12 \
byteNext: \
	INCQ BX \
	JMP bytes \
byteLF: \
	MOVQ BX, CX \
	JMP gotLF \
found: \
	BSFL CX, CX \
	ADDQ BX, CX \
gotLF: \ // the line ends in CRLF within hmax, with no fold after it
	LEAQ 1(CX), DX \
	CMPQ DX, R9 \
	JGE stop \
	CMPB -1(SI)(CX*1), $0x0d \
	JNE stop \
	MOVBLZX 1(SI)(CX*1), DX \
	CMPB DX, $0x20 \
	JEQ stop \
	CMPB DX, $0x09 \
	JEQ stop \
	CMPQ R12, AX \ // a name of a byte or more, a colon before the LF
	JLE stop \
	CMPQ R12, CX \
	JGT stop \
	MOVBLZX -1(SI)(R12*1), DX \ // and no SP or HT before the colon
	CMPB DX, $0x20 \
	JEQ stop \
	CMPB DX, $0x09 \
	JEQ stop \
	MOVQ R12, DX \ // R14: the header ID as lookupShort finds it (see splitLinesGo)
	SUBQ AX, DX \ // n, the name's length
	MOVL $0xff, R14 \
	CMPQ DX, $1 \
	JNE idLong \
	MOVBLZX (SI)(AX*1), BX \
	LEAQ ·compact(SB), R13 \
	MOVBLZX (R13)(BX*1), R14 \
	JMP idDone \
idLong: \
	CMPQ DX, $15 \
	JGT idDone \
	LEAQ 16(AX), BX \
	CMPQ BX, R8 \
	JGT idDone \
	MOVBLZX (SI)(AX*1), BX \
	ORL $0x20, BX \
	SUBL $0x61, BX \
	XORL R14, R14 \ // HdrOther unless a candidate matches
	CMPL BX, $25 \
	JA idDone \
	MOVQ DX, R13 \
	SHLQ $4, R13 \
	LEAQ ·nameMasks(SB), R14 \
	NAME16 \ // X3: the name's 16 bytes OR 0x20, masked to n; R13: its CRs
	MOVL $0xff, R14 \
	TESTL R13, R13 \ // OR 0x20 makes a CR a '-': leave such a name to Go
	JNE idDone \
	IMUL3Q $52, DX, R13 \ // byLenFirst[n][c-'a']: two candidate IDs
	LEAQ (R13)(BX*2), R13 \
	LEAQ ·byLenFirst(SB), R14 \
	MOVBLZX (R14)(R13*1), BX \
	MOVBLZX 1(R14)(R13*1), R13 \
	XORL R14, R14 \
	TESTL BX, BX \ // no candidate: the first is filled first
	JEQ idDone \
	LEAQ ·nameWords(SB), R14 \
	LEAQ (BX)(BX*2), DX \
	CMPROW \ // DX: which bytes of X3 equal nameWords[id]
	CMPL DX, $0xffff \
	JEQ idFirst \
	XORL R14, R14 \
	TESTL R13, R13 \
	JEQ idDone \
	LEAQ ·nameWords(SB), R14 \
	LEAQ (R13)(R13*2), DX \
	CMPROW \
	XORL R14, R14 \
	CMPL DX, $0xffff \
	JNE idDone \
	MOVL R13, R14 \
	JMP idDone \
idFirst: \
	MOVL BX, R14 \
idDone: \
	LEAQ 1(R12), BX \ // the value, BX to DX, without white space around it
	LEAQ -1(CX), DX \
skip: \
	CMPQ BX, DX \
	JGE record \
	MOVBLZX (SI)(BX*1), R13 \
	CMPB R13, $0x20 \
	JEQ skip1 \
	CMPB R13, $0x09 \
	JNE trim \
skip1: \
	INCQ BX \
	JMP skip \
trim: \ // b[BX] is neither SP nor HT: this stops at BX+1 at the latest
	MOVBLZX -1(SI)(DX*1), R13 \
	CMPB R13, $0x20 \
	JEQ trim1 \
	CMPB R13, $0x09 \
	JNE record \
trim1: \
	DECQ DX \
	JMP trim \
record: \
	MOVL AX, 0(DI) \
	MOVL R12, 4(DI) \
	MOVL BX, 8(DI) \
	MOVL DX, 12(DI) \
	MOVL R14, 16(DI) \
	ADDQ $20, DI \
	INCQ R11 \
	LEAQ 1(CX), AX \
	JMP line \
empty: \
	ADDQ $2, AX \
	MOVB $1, end+64(FP) \
stop: \
	DONE \
	MOVQ AX, next+48(FP) \
	MOVQ R11, n+56(FP) \
	RET

#define ARGS \
	MOVQ b+0(FP), SI \
	MOVQ blen+8(FP), R8 \
	MOVQ pos+16(FP), AX \
	MOVQ hmax+24(FP), R9 \
	MOVQ out+32(FP), DI \
	MOVQ nout+40(FP), R10 \
	XORQ R11, R11 \
	MOVB $0, end+64(FP)

#define LOAD16 \
	MOVOU (SI)(BX*1), X0 \
	MOVO X0, X1 \
	PCMPEQB X10, X1 \
	PMOVMSKB X1, CX

#define COLONS16 \
	MOVO X0, X2 \
	PCMPEQB X11, X2 \
	PMOVMSKB X2, DX

#define LOAD32 \
	VMOVDQU (SI)(BX*1), Y0 \
	VPCMPEQB Y10, Y0, Y1 \
	VPMOVMSKB Y1, CX

#define COLONS32 \
	VPCMPEQB Y11, Y0, Y2 \
	VPMOVMSKB Y2, DX

#define NAME16 \
	MOVOU (SI)(AX*1), X3 \
	MOVOU (R14)(R13*1), X5 \
	MOVO X3, X6 \
	PAND X5, X6 \
	PCMPEQB X13, X6 \
	PMOVMSKB X6, R13 \
	POR X12, X3 \
	PAND X5, X3

#define CMPROW \
	MOVOU (R14)(DX*8), X4 \
	PCMPEQB X3, X4 \
	PMOVMSKB X4, DX

#define NAME16V \
	VMOVDQU (SI)(AX*1), X3 \
	VMOVDQU (R14)(R13*1), X5 \
	VPAND X5, X3, X6 \
	VPCMPEQB X13, X6, X6 \
	VPMOVMSKB X6, R13 \
	VPOR X12, X3, X3 \
	VPAND X5, X3, X3

#define CMPROWV \
	VPCMPEQB (R14)(DX*8), X3, X4 \
	VPMOVMSKB X4, DX

#define NOTHING

// SPLAT16 fills the 16 bytes of X with the byte in C64, which holds it 8
// times; SPLATB fills X (or its Y form) with the byte C.
#define SPLAT16(C64, X) \
	MOVQ $C64, DX \
	MOVQ DX, X \
	PUNPCKLQDQ X, X

#define SPLATB(C, X, XY) \
	MOVQ $C, DX \
	MOVQ DX, X \
	VPBROADCASTB X, XY

// func splitLinesSSE2(b *byte, blen, pos, hmax int, out *lineRec, nout int) (next, n int, end bool)
TEXT ·splitLinesSSE2(SB), NOSPLIT, $0-65
	ARGS
	SPLAT16(0x0a0a0a0a0a0a0a0a, X10)
	SPLAT16(0x3a3a3a3a3a3a3a3a, X11)
	SPLAT16(0x2020202020202020, X12)
	SPLAT16(0x0d0d0d0d0d0d0d0d, X13)
	SPLIT(16, LOAD16, COLONS16, NAME16, CMPROW, NOTHING)

// func splitLinesAVX2(b *byte, blen, pos, hmax int, out *lineRec, nout int) (next, n int, end bool)
TEXT ·splitLinesAVX2(SB), NOSPLIT, $0-65
	ARGS
	SPLATB(0x0a, X10, Y10)
	SPLATB(0x3a, X11, Y11)
	SPLATB(0x20, X12, X12)
	SPLATB(0x0d, X13, X13)
	SPLIT(32, LOAD32, COLONS32, NAME16V, CMPROWV, VZEROUPPER)
