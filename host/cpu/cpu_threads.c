/* cpu_threads.c: a small pthread pool; chunks are handed out through one atomic
 * counter so fast threads take more of them. */
#include "cpu_threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct clq_cpu_pool {
    int nworkers;
    pthread_t *tids;
    pthread_mutex_t mu;      /* guards gen, stop, busy and the job fields */
    pthread_cond_t wake;     /* workers: a new generation or stop */
    pthread_cond_t done;     /* caller: busy reached 0 */
    pthread_mutex_t run_mu;  /* one parallel-for at a time */
    unsigned long gen;
    int stop;
    int busy;
    clq_cpu_chunk_fn fn;
    void *arg;
    size_t nchunks;
    atomic_size_t next;
};

static void run_chunks(clq_cpu_pool *p, clq_cpu_chunk_fn fn, void *arg, size_t nchunks) {
    for (;;) {
        size_t c = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (c >= nchunks) break;
        fn(arg, c);
    }
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
        run_chunks(p, fn, arg, n);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
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
    atomic_init(&p->next, 0);
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
    if (nchunks == 1 || p->nworkers == 0) {
        for (size_t c = 0; c < nchunks; c++) fn(arg, c);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->nchunks = nchunks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->busy = p->nworkers;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, fn, arg, nchunks);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_mu);
}
