/* cpu_caps.h: the CPU's capabilities as a bitset (detected once, with the OS's
 * register-state support), and the named capability levels CLQ_CPU_ISA accepts. */
#ifndef CLQ_CPU_CAPS_H
#define CLQ_CPU_CAPS_H

#include <stdint.h>

/* One bit per instruction-set feature a kernel may need. A bit is set only when
 * the CPU has the feature and the OS saves the register state it uses (XCR0 for
 * AVX / AVX-512 / AMX tiles, plus the Linux permission for AMX tile data). */
typedef uint32_t clq_cpu_caps;

#define CLQ_CAP_AVX2 (1u << 0)
#define CLQ_CAP_FMA (1u << 1)
#define CLQ_CAP_F16C (1u << 2)
#define CLQ_CAP_AVX512F (1u << 3)
#define CLQ_CAP_AVX512BW (1u << 4)
#define CLQ_CAP_AVX512VL (1u << 5)
#define CLQ_CAP_AVX512DQ (1u << 6)
#define CLQ_CAP_AVX512VNNI (1u << 7) /* vpdpbusd on zmm */
#define CLQ_CAP_AVXVNNI (1u << 8)    /* vpdpbusd on ymm, VEX encoded (no AVX-512 needed) */
#define CLQ_CAP_AVX512BF16 (1u << 9)
#define CLQ_CAP_AMX_TILE (1u << 10)
#define CLQ_CAP_AMX_INT8 (1u << 11)
#define CLQ_CAP_AMX_BF16 (1u << 12)
#define CLQ_CAP_NEON (1u << 16)    /* aarch64 Advanced SIMD */
#define CLQ_CAP_ASIMDDP (1u << 17) /* aarch64 sdot/udot */

/* The sets most kernels need, by the names the levels below use. */
#define CLQ_CAPS_AVX2 (CLQ_CAP_AVX2 | CLQ_CAP_FMA | CLQ_CAP_F16C)
#define CLQ_CAPS_AVX512 \
    (CLQ_CAPS_AVX2 | CLQ_CAP_AVX512F | CLQ_CAP_AVX512BW | CLQ_CAP_AVX512VL | CLQ_CAP_AVX512DQ)

/* What this CPU and OS support (computed on the first call; thread-safe). */
clq_cpu_caps clq__cpu_caps_detect(void);

/* The capability set a CLQ_CPU_ISA name stands for (docs/API.md lists them);
 * returns 0 and leaves *set alone for an unknown name. "native" is every bit. */
int clq__cpu_caps_level(const char *name, clq_cpu_caps *set);

/* The name of the highest level whose whole set caps holds ("portable" at least). */
const char *clq__cpu_caps_level_name(clq_cpu_caps caps);

#endif
