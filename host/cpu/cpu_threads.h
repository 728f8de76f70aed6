/* cpu_threads.h: the CPU backend's worker pool, a parallel-for over chunks that
 * the calling thread takes part in. One pool per context, no global state. */
#ifndef CLQ_CPU_THREADS_H
#define CLQ_CPU_THREADS_H

#include <stddef.h>

typedef struct clq_cpu_pool clq_cpu_pool;

/* fn(arg, chunk) for every chunk in [0, nchunks), in any order, on any thread. */
typedef void (*clq_cpu_chunk_fn)(void *arg, size_t chunk);

/* nthreads counts the caller: nthreads - 1 workers are started. Returns NULL
 * only when the pool object itself cannot be allocated; workers that fail to
 * start just leave a smaller pool. */
clq_cpu_pool *clq__cpu_pool_create(int nthreads);
void clq__cpu_pool_destroy(clq_cpu_pool *pool);
/* Threads actually running chunks (workers started + the caller). */
int clq__cpu_pool_threads(const clq_cpu_pool *pool);
/* Returns when every chunk has run. Calls from several threads are serialised. */
void clq__cpu_parallel(clq_cpu_pool *pool, size_t nchunks, clq_cpu_chunk_fn fn, void *arg);

#endif
