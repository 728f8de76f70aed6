/* cpu_threads.c: a small pthread pool; chunks are handed out through one atomic
 * counter so fast threads take more of them. */
#include "cpu_threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* A parallel-for returns once its chunks are done, not once every worker has woken:
 * waking a sleeping worker was measured at about the length of a 1 x 4096 x 4096 GEMM
 * on a shared 2-core guest (0.1-0.2 ms), and the caller then ran every chunk itself and
 * still waited for the late worker to report. So the claim counter carries the
 * generation (ticket = gen << 32 | next chunk): a worker that wakes after its job is
 * over claims nothing, not a chunk of the next job, and nobody waits for it. */
#define TICKET(gen, c) ((uint64_t)(uint32_t)(gen) << 32 | (uint64_t)(c))
/* The caller polls this long for the last chunks before it sleeps: a sleeping caller
 * wakes as late as a worker does. */
#define CALLER_SPIN_NS 20000L
/* A worker polls this long for the next job before it sleeps, so that back-to-back
 * calls (a decode step's GEMMs, a model's tensors) find it awake: a sleeping worker
 * wakes as late as above, which at M = 1 left the whole GEMM to the caller. Only when
 * every thread has a core of its own (a spinning thread must not take a core from a
 * thread with work). ONNX Runtime's and OpenMP's pools spin the same way. */
#define WORKER_SPIN_NS 200000L

struct clq_cpu_pool {
    int nworkers;
    pthread_t *tids;
    pthread_mutex_t mu;      /* guards gen, stop and the job fields */
    pthread_cond_t wake;     /* workers: a new generation or stop */
    pthread_cond_t done;     /* caller: every chunk of the job has run */
    pthread_mutex_t run_mu;  /* one parallel-for at a time */
    atomic_ulong gen;        /* written under mu; polled without it by spinning workers */
    int stop;
    int spin;                /* workers poll gen for WORKER_SPIN_NS before sleeping */
    clq_cpu_chunk_fn fn;
    void *arg;
    size_t nchunks;
    atomic_uint_least64_t ticket;
    atomic_size_t finished;  /* chunks of this job run */
};

/* Chunks of generation gen until none is left or the job is another's. */
static void run_chunks(clq_cpu_pool *p, unsigned long gen, clq_cpu_chunk_fn fn, void *arg,
                       size_t nchunks) {
    size_t ran = 0;
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_relaxed);
    for (;;) {
        size_t c = (size_t)(uint32_t)t;
        if ((t >> 32) != (uint32_t)gen || c >= nchunks) break;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_relaxed,
                                                   memory_order_relaxed))
            continue;
        fn(arg, c);
        ran++;
        t = atomic_load_explicit(&p->ticket, memory_order_relaxed);
    }
    /* release: the chunks' writes are seen by the caller that reads finished */
    if (ran && atomic_fetch_add_explicit(&p->finished, ran, memory_order_acq_rel) + ran == nchunks) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static long elapsed_ns(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Polls for a generation after seen, for WORKER_SPIN_NS at most, then takes mu (the
 * job's fields are read under it, as a sleeping worker reads them). A job seen while
 * polling takes mu by polling too: the caller holds it for a few stores, and a worker
 * blocked on it would wake as late as a sleeping one. */
static void spin_lock_for_job(clq_cpu_pool *p, unsigned long seen) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1; atomic_load_explicit(&p->gen, memory_order_relaxed) == seen; i++) {
        CPU_RELAX();
        if (i % 64 == 0 && elapsed_ns(&t0) > WORKER_SPIN_NS) {
            pthread_mutex_lock(&p->mu);
            return;
        }
    }
    while (pthread_mutex_trylock(&p->mu) != 0) CPU_RELAX();
}

static void *worker(void *vp) {
    clq_cpu_pool *p = vp;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        clq_cpu_chunk_fn fn = p->fn;
        void *arg = p->arg;
        size_t n = p->nchunks;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p, seen, fn, arg, n);
        if (p->spin) spin_lock_for_job(p, seen);
        else pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

clq_cpu_pool *clq__cpu_pool_create(int nthreads) {
    clq_cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->ticket, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->gen, 0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->spin = cores >= nthreads;
    if (nthreads > 1) {
        p->tids = calloc((size_t)nthreads - 1, sizeof *p->tids);
        if (p->tids)
            for (int i = 0; i < nthreads - 1; i++) {
                if (pthread_create(&p->tids[i], NULL, worker, p) != 0) break;
                p->nworkers++;
            }
    }
    return p;
}

void clq__cpu_pool_destroy(clq_cpu_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) pthread_join(p->tids[i], NULL);
    free(p->tids);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_mu);
    free(p);
}

int clq__cpu_pool_threads(const clq_cpu_pool *p) { return p->nworkers + 1; }

void clq__cpu_parallel(clq_cpu_pool *p, size_t nchunks, clq_cpu_chunk_fn fn, void *arg) {
    if (nchunks == 0) return;
    if (nchunks == 1 || p->nworkers == 0 || nchunks > UINT32_MAX) {
        for (size_t c = 0; c < nchunks; c++) fn(arg, c);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->nchunks = nchunks;
    unsigned long gen = atomic_load_explicit(&p->gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&p->gen, gen, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    atomic_store_explicit(&p->ticket, TICKET(gen, 0), memory_order_relaxed);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_broadcast(&p->wake); /* after the unlock: a woken worker finds mu free */
    run_chunks(p, gen, fn, arg, nchunks);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1; atomic_load_explicit(&p->finished, memory_order_acquire) < nchunks; i++) {
        CPU_RELAX();
        if (i % 64 == 0 && elapsed_ns(&t0) > CALLER_SPIN_NS) break;
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < nchunks)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_mu);
}
