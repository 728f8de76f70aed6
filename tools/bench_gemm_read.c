/* bench_gemm_read.c: the small-M GEMM's peer: reading a buffer the size of B once,
 * split over the library's thread count (the bandwidth a B-streaming GEMM can reach). */
#include "bench.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

struct bench_gemm_read {
    unsigned char *buf;
    size_t bytes;
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

bench_gemm_read *bench_gemm_read_create(size_t bytes, int threads) {
    bench_gemm_read *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = malloc(bytes ? bytes : 1))) bench_die("out of host memory for the read peer");
    memset(r->buf, 0x5a, bytes); /* distinct, touched pages */
    r->bytes = bytes;
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
    double t0 = bench_now();
    for (int t = 0; t < n; t++) {
        size_t begin = (size_t)t * chunk;
        if (begin >= r->bytes) break;
        size_t len = r->bytes - begin < chunk ? r->bytes - begin : chunk;
        part[t] = (read_part){r->buf + begin, len, 0};
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
