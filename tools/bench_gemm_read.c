/* bench_gemm_read.c: the small-M GEMM's peer: reading a buffer the size of B once,
 * split over the library's thread count (the bandwidth a B-streaming GEMM can reach),
 * and how many copies of B a run must rotate over to find B in DRAM, not in a cache. */
#include "bench.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define COLD_DEFAULT_LLC ((size_t)32 << 20) /* when the machine does not say */
#define COLD_MIN_BYTES ((size_t)128 << 20)
#define COLD_MAX_COPIES 64

struct bench_gemm_read {
    unsigned char *buf;
    size_t bytes, parts, next; /* parts buffers of bytes; a run reads the next one */
    int threads;
    volatile uint64_t sink;
};

typedef struct read_part {
    const unsigned char *p;
    size_t bytes;
    uint64_t sum;
} read_part;

/* Sums 64-bit words: nothing but loads and adds, four independent chains. */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static uint64_t sum_avx2(const unsigned char *p, size_t bytes) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 128 <= bytes; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out,
                        _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
    uint64_t s = out[0] + out[1] + out[2] + out[3];
    for (; i < bytes; i++) s += p[i];
    return s;
}
#endif

static uint64_t sum_plain(const unsigned char *p, size_t bytes) {
    uint64_t s = 0;
    for (size_t i = 0; i < bytes; i++) s += p[i];
    return s;
}

static void *read_thread(void *arg) {
    read_part *r = arg;
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) {
        r->sum = sum_avx2(r->p, r->bytes);
        return NULL;
    }
#endif
    r->sum = sum_plain(r->p, r->bytes);
    return NULL;
}

bench_gemm_read *bench_gemm_read_create(size_t bytes, size_t parts, int threads) {
    bench_gemm_read *r = calloc(1, sizeof *r);
    if (parts == 0) parts = 1;
    if (!r || (bytes && parts > SIZE_MAX / bytes) || !(r->buf = malloc(bytes * parts > 0 ? bytes * parts : 1)))
        bench_die("out of host memory for the read peer (%zu x %zu bytes)", parts, bytes);
    memset(r->buf, 0x5a, bytes * parts); /* distinct, touched pages */
    r->bytes = bytes;
    r->parts = parts;
    r->threads = threads > 0 ? threads : 1;
    return r;
}

double bench_gemm_read_once(bench_gemm_read *r) {
    enum { MAX_THREADS = 256 };
    pthread_t tid[MAX_THREADS];
    read_part part[MAX_THREADS];
    int n = r->threads < MAX_THREADS ? r->threads : MAX_THREADS;
    size_t chunk = (r->bytes / (size_t)n + 127) & ~(size_t)127;
    int used = 0;
    const unsigned char *base = r->buf + r->next * r->bytes;
    r->next = (r->next + 1) % r->parts;
    double t0 = bench_now();
    for (int t = 0; t < n; t++) {
        size_t begin = (size_t)t * chunk;
        if (begin >= r->bytes) break;
        size_t len = r->bytes - begin < chunk ? r->bytes - begin : chunk;
        part[t] = (read_part){base + begin, len, 0};
        used = t + 1;
    }
    for (int t = 1; t < used; t++)
        if (pthread_create(&tid[t], NULL, read_thread, &part[t]) != 0)
            bench_die("pthread_create failed for the read peer");
    if (used > 0) read_thread(&part[0]);
    uint64_t s = used > 0 ? part[0].sum : 0;
    for (int t = 1; t < used; t++) {
        pthread_join(tid[t], NULL);
        s += part[t].sum;
    }
    double sec = bench_now() - t0;
    r->sink = s;
    return sec;
}

void bench_gemm_read_destroy(bench_gemm_read *r) {
    if (!r) return;
    free(r->buf);
    free(r);
}

/* The largest cache cpu0 sees, from sysfs ("32768K": one instance, as lscpu shows it),
 * else sysconf (glibc's cpuid reading can give the whole package's L3); 0: unknown. */
static size_t llc_bytes(void) {
    size_t best = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], text[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(text, sizeof text, f)) {
            char *end;
            unsigned long long x = strtoull(text, &end, 10);
            x *= *end == 'K' ? 1024ull : *end == 'M' ? 1048576ull : 1ull;
            if (x > best) best = (size_t)x;
        }
        fclose(f);
    }
    long v = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (!best) v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    return best ? best : v > 0 ? (size_t)v : 0;
}

size_t bench_gemm_cold_copies(size_t bytes, size_t *llc) {
    size_t c = llc_bytes();
    *llc = c;
    /* four times the cache: a victim cache (AMD's L3) keeps some lines of a stream
     * only twice its size */
    size_t want = 4 * (c ? c : COLD_DEFAULT_LLC);
    if (want < COLD_MIN_BYTES) want = COLD_MIN_BYTES;
    size_t copies = bytes ? (want + bytes - 1) / bytes : 1;
    if (copies < 2) copies = 2;
    if (copies > COLD_MAX_COPIES) copies = COLD_MAX_COPIES;
    return copies;
}
