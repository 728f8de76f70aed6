/* cpu_caps.c: detects the CPU's capability bits once (CPUID, XCR0, and on Linux the
 * AMX tile-data permission; HWCAP on aarch64) and names the CLQ_CPU_ISA levels. */
#include "cpu_caps.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
/* XCR0 state components: SSE|AVX (1, 2); opmask, ZMM0-15 high, ZMM16-31 (5-7);
 * XTILECFG, XTILEDATA (17, 18). */
#define XCR0_AVX 0x6u
#define XCR0_AVX512 0xe0u
#define XCR0_AMX 0x60000u

/* Linux keeps AMX tile data off until a process asks for it (5.16+); a kernel
 * that refuses (or predates it) leaves the AMX bits clear. */
static int amx_permitted(void) {
#if defined(__linux__) && defined(SYS_arch_prctl)
    const long ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}

static clq_cpu_caps detect(void) {
    unsigned a, b, c, d;
    clq_cpu_caps caps = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    unsigned xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = lo;
    }
    /* a feature whose registers the OS does not save is unusable whatever CPUID says */
    if (!avx || (xcr0 & XCR0_AVX) != XCR0_AVX) return 0;
    if (fma) caps |= CLQ_CAP_FMA;
    if (f16c) caps |= CLQ_CAP_F16C;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return caps;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned l7_max_sub = a, l7b = b, l7c = c, l7d = d, l71a = 0;
    if (l7_max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        l71a = a;
    }
    if ((l7b >> 5) & 1) caps |= CLQ_CAP_AVX2;
    if ((l71a >> 4) & 1) caps |= CLQ_CAP_AVXVNNI;
    if ((xcr0 & XCR0_AVX512) == XCR0_AVX512) {
        if ((l7b >> 16) & 1) caps |= CLQ_CAP_AVX512F;
        if ((l7b >> 17) & 1) caps |= CLQ_CAP_AVX512DQ;
        if ((l7b >> 30) & 1) caps |= CLQ_CAP_AVX512BW;
        if ((l7b >> 31) & 1) caps |= CLQ_CAP_AVX512VL;
        if ((l7c >> 11) & 1) caps |= CLQ_CAP_AVX512VNNI;
        if ((l71a >> 5) & 1) caps |= CLQ_CAP_AVX512BF16;
    }
    if ((xcr0 & XCR0_AMX) == XCR0_AMX && ((l7d >> 24) & 1) && amx_permitted()) {
        caps |= CLQ_CAP_AMX_TILE;
        if ((l7d >> 25) & 1) caps |= CLQ_CAP_AMX_INT8;
        if ((l7d >> 22) & 1) caps |= CLQ_CAP_AMX_BF16;
    }
    return caps;
}
#elif defined(__aarch64__)
static clq_cpu_caps detect(void) {
    clq_cpu_caps caps = CLQ_CAP_NEON; /* Advanced SIMD is mandatory on aarch64 */
#if defined(__linux__) && defined(AT_HWCAP)
    if ((getauxval(AT_HWCAP) >> 20) & 1) caps |= CLQ_CAP_ASIMDDP; /* HWCAP_ASIMDDP */
#endif
    return caps;
}
#else
static clq_cpu_caps detect(void) { return 0; }
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static clq_cpu_caps detected;

static void detect_once(void) { detected = detect(); }

clq_cpu_caps clq__cpu_caps_detect(void) {
    pthread_once(&once, detect_once);
    return detected;
}

/* Each level is an exact set (not "everything below it"): forcing a level runs
 * the kernels that need at most that set. Ordered so that the last level a CPU
 * holds in full is the one its device name reports. */
static const struct {
    const char *name;
    clq_cpu_caps set;
} levels[] = {
    {"portable", 0},
    {"neon", CLQ_CAP_NEON},
    {"neon-dot", CLQ_CAP_NEON | CLQ_CAP_ASIMDDP},
    {"avx2", CLQ_CAPS_AVX2},
    {"avx2-vnni", CLQ_CAPS_AVX2 | CLQ_CAP_AVXVNNI},
    {"avx512", CLQ_CAPS_AVX512},
    {"avx512-vnni", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI},
    {"amx", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI | CLQ_CAP_AVX512BF16 | CLQ_CAP_AMX_TILE |
                CLQ_CAP_AMX_INT8},
};

int clq__cpu_caps_level(const char *name, clq_cpu_caps *set) {
    if (!strcmp(name, "native")) {
        *set = ~(clq_cpu_caps)0;
        return 1;
    }
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (!strcmp(name, levels[i].name)) {
            *set = levels[i].set;
            return 1;
        }
    return 0;
}

const char *clq__cpu_caps_level_name(clq_cpu_caps caps) {
    const char *best = levels[0].name;
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if ((levels[i].set & ~caps) == 0) best = levels[i].name;
    return best;
}
