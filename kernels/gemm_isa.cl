/* gemm_isa.cl: part of the gemm program (after gemm.cl): the tiled kernel's operand
 * types and multiply-adds per instruction set (vpmaddwd / vpmaddubsw builtins on x86,
 * the portable form elsewhere), and its column vectors. */

/* The 4-bit tile's operand types (tile_quads4): units of B panel bytes as s8 bytes,
 * their s16 pair sums and broadcast u32 quads; half units of B / 2. */
#define CLQ_UB_TYPES(B)                                                                     \
    typedef char ubv_t __attribute__((vector_size(B)));                                     \
    typedef short ubs_t __attribute__((vector_size(B)));                                    \
    typedef uint ubq_t __attribute__((vector_size(B)));                                     \
    typedef char ubhv_t __attribute__((vector_size((B) / 2)));                              \
    typedef short ubhs_t __attribute__((vector_size((B) / 2)));                             \
    typedef uint ubhq_t __attribute__((vector_size((B) / 2)))
/* A 4-bit value's s8 byte by its nibble (vpshufb's table, per 16-byte lane). */
#define NIB16 0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1

/* Work-item tiles multiply 4 s8-domain values of A (one "quad", k = 4q..4q+3) by
 * the 4 values of each column of B at the same k, as 16-bit products added in
 * pairs: an accumulator lane pair (2c, 2c+1) holds column c's sums over k % 4 in
 * {0, 1} and {2, 3}. On x86 runtimes (POCL's CPU device) that is vpmaddwd, on 8
 * columns with AVX-512BW and on 4 with AVX2, written as the builtin because LLVM
 * does not find it in the portable expression (it emits 32-bit vpmulld).
 * Elsewhere, or with CLQ_GEMM_PORTABLE, the portable form works on 4 columns. On x86
 * CLQ_GEMM_VB, the bytes of an operand vector (zmm 64, ymm 32), sizes every type and
 * helper; only the builtins and the halves' shuffles are written per width. */
#if defined(__x86_64__) && defined(__AVX512BW__) && !defined(CLQ_GEMM_PORTABLE)
#define CLQ_GEMM_VB 64
#elif defined(__x86_64__) && defined(__AVX2__) && !defined(CLQ_GEMM_PORTABLE)
#define CLQ_GEMM_VB 32
#endif

#ifdef CLQ_GEMM_VB
typedef short opnd_t __attribute__((vector_size(CLQ_GEMM_VB)));  /* s16 pairs: vpmaddwd */
typedef char opnd8_t __attribute__((vector_size(CLQ_GEMM_VB / 2))); /* their s8 bytes */
typedef uint opndq_t __attribute__((vector_size(CLQ_GEMM_VB / 2)));
typedef long opndl_t __attribute__((vector_size(CLQ_GEMM_VB)));
typedef int acc_t __attribute__((vector_size(CLQ_GEMM_VB)));
#define VC (CLQ_GEMM_VB / 8) /* columns per accumulator: a lane pair each */
#define ACC_ZERO ((acc_t){})
inline opnd_t b_load(const global char *p) {
    return __builtin_convertvector(*(const global opnd8_t *)p, opnd_t);
}
/* The quad in every 32-bit lane, then one sign extension (vpbroadcastd, vpmovsx). */
inline opnd_t a_bcast(uint quad) {
    return __builtin_convertvector((opnd8_t)((opndq_t){} + quad), opnd_t);
}
/* A staged in private memory (see gemm_tile_body): VB / 2 bytes of A to s16, and a
 * staged quad (4 s16 in a ulong) to every 64-bit lane (vpbroadcastq from memory). */
#define CLQ_GEMM_STAGE_A (CLQ_GEMM_VB / 2)
typedef struct __attribute__((packed)) {
    opnd8_t v;
} clq_opnd8_p;
inline void a_cvt(private short *d, const global uchar *s, char ax) {
    *(private opnd_t *)d = __builtin_convertvector(((const global clq_opnd8_p *)s)->v ^ ax, opnd_t);
}
inline opnd_t a_bcast4(ulong s4) { return (opnd_t)((opndl_t){} + (long)s4); }
/* 4-bit weights (see tile_quads4): units of VB panel bytes (2 accumulators' columns),
 * half units of VB / 2. */
CLQ_UB_TYPES(CLQ_GEMM_VB);
inline acc_t ub_widen(ubhs_t s) { return __builtin_convertvector(s, acc_t); }
#endif

/* What differs by width: the builtins, and the shuffles of the halves. */
#if CLQ_GEMM_VB == 64
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) { return acc + __builtin_ia32_pmaddwd512(a, b); }
inline ubs_t ub_mac(ubv_t a, ubv_t b) { return __builtin_ia32_pmaddubsw512(a, b); }
inline ubhs_t ubh_mac(ubhv_t a, ubhv_t b) { return __builtin_ia32_pmaddubsw256(a, b); }
inline ubv_t ub_lut(ubv_t i) {
    return __builtin_ia32_pshufb512((ubv_t){NIB16, NIB16, NIB16, NIB16}, i);
}
inline ubhv_t ubh_lut(ubhv_t i) { return __builtin_ia32_pshufb256((ubhv_t){NIB16, NIB16}, i); }
inline ubhs_t ub_half(ubs_t s, int h) {
    return h ? __builtin_shufflevector(s, s, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                       29, 30, 31)
             : __builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
#elif CLQ_GEMM_VB == 32
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) { return acc + __builtin_ia32_pmaddwd256(a, b); }
/* Column sums of an accumulator's 4 columns (h: the only half). */
inline uint4 acc_cols(acc_t acc, int h) {
    (void)h;
    int4 e = __builtin_astype(__builtin_shufflevector(acc, acc, 0, 2, 4, 6), int4);
    int4 o = __builtin_astype(__builtin_shufflevector(acc, acc, 1, 3, 5, 7), int4);
    return as_uint4(e + o);
}
inline ubs_t ub_mac(ubv_t a, ubv_t b) { return __builtin_ia32_pmaddubsw256(a, b); }
inline ubhs_t ubh_mac(ubhv_t a, ubhv_t b) { return __builtin_ia32_pmaddubsw128(a, b); }
inline ubv_t ub_lut(ubv_t i) { return __builtin_ia32_pshufb256((ubv_t){NIB16, NIB16}, i); }
inline ubhv_t ubh_lut(ubhv_t i) { return __builtin_ia32_pshufb128((ubhv_t){NIB16}, i); }
inline ubhs_t ub_half(ubs_t s, int h) {
    return h ? __builtin_shufflevector(s, s, 8, 9, 10, 11, 12, 13, 14, 15)
             : __builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7);
}
#else
#define VC 4
#define ACC_ZERO ((int8)(0))
typedef int8 acc_t;
typedef short16 opnd_t;
inline opnd_t b_load(const global char *p) { return convert_short16(*(const global char16 *)p); }
inline opnd_t a_bcast(uint quad) {
    short4 s = convert_short4(as_char4(quad));
    return (short16)(s, s, s, s);
}
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) {
    return acc + convert_int8(a.even) * convert_int8(b.even) +
           convert_int8(a.odd) * convert_int8(b.odd);
}
inline uint4 acc_cols(acc_t acc, int h) {
    (void)h; /* one accumulator holds 4 columns here */
    return as_uint4(acc.even + acc.odd);
}
#endif
/* One accumulator's columns as a vector (VC of them): the epilogue works on these. */
#if VC == 8
typedef uint8 colu_t;
typedef int8 coli_t;
typedef float8 colf_t;
#define col_load(p) vload8(0, (p))
#define as_colu as_uint8
#define as_coli as_int8
#define as_colf as_float8
#define convert_colf convert_float8
inline uint8 acc_colv(acc_t acc) {
    int8 e = __builtin_astype(__builtin_shufflevector(acc, acc, 0, 2, 4, 6, 8, 10, 12, 14), int8);
    int8 o = __builtin_astype(__builtin_shufflevector(acc, acc, 1, 3, 5, 7, 9, 11, 13, 15), int8);
    return as_uint8(e + o);
}
inline uint4 colu_part(uint8 v, int h) { return h ? v.hi : v.lo; }
inline float4 colf_part(float8 v, int h) { return h ? v.hi : v.lo; }
/* Column sums of columns [4 h, 4 h + 4) of an accumulator. */
inline uint4 acc_cols(acc_t acc, int h) { return colu_part(acc_colv(acc), h); }
#else
typedef uint4 colu_t;
typedef int4 coli_t;
typedef float4 colf_t;
#define col_load(p) vload4(0, (p))
#define as_colu as_uint4
#define as_coli as_int4
#define as_colf as_float4
#define convert_colf convert_float4
inline uint4 acc_colv(acc_t acc) { return acc_cols(acc, 0); }
inline uint4 colu_part(uint4 v, int h) { (void)h; return v; }
inline float4 colf_part(float4 v, int h) { (void)h; return v; }
#endif
#define NV (NR / VC) /* accumulators per row */
#if NR % VC != 0
#error "CLQ_GEMM_NR must be a multiple of the columns per accumulator (8 with AVX-512BW, else 4)"
#endif
