/* bench.h: helpers shared by the files of clquant-bench: timing, fatal errors,
 * the peer copy each op is compared with, and the cold/warm startup section. */
#ifndef CLQ_BENCH_H
#define CLQ_BENCH_H

#include <clquant/clquant.h>
#include <stddef.h>

/* Monotonic clock, seconds. */
double bench_now(void);
/* Median of n values (sorts v). */
double bench_median(double *v, int n);
/* The 1-minute load average ("?" where /proc/loadavg is missing), for the record:
 * other work on the machine shows up in every number. */
const char *bench_loadavg(char *buf, size_t size);

/* Prints "clquant-bench: <message>" to stderr and exits with status 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* On failure: prints what failed, the status name and the context's message, exits 1. */
void bench_check(const clq_context *ctx, clq_status st, const char *what);

/* A context on `backend` (options otherwise default, so the environment applies);
 * exits with the library's own message when creation fails. */
clq_context *bench_context_create(clq_backend backend);

/* The device's max single allocation and global memory through the OpenCL
 * interop; returns 0 (and leaves the outputs alone) on the CPU path. */
int bench_cl_limits(const clq_context *ctx, unsigned long long *max_alloc,
                    unsigned long long *global_mem);

/* The copy every op is compared with: on the CPU path memcpy split over as many
 * threads as the library uses, on OpenCL a uint4 copy kernel built through the
 * interop on the context's own cl_context and queue (copying src -> dst). */
typedef struct bench_peer bench_peer;
bench_peer *bench_peer_create(clq_context *ctx, clq_buffer *src, clq_buffer *dst,
                              size_t max_bytes, int threads);
/* One line saying what the peer is. */
const char *bench_peer_describe(const bench_peer *p);
/* Seconds of one copy of `bytes` (rounded down to 16), finished. */
double bench_peer_once(bench_peer *p, size_t bytes);
void bench_peer_destroy(bench_peer *p);

/* Child mode (--startup-probe): context creation + first quantize of a small
 * tensor + finish, printed as one "startup_ms=..." line. Returns the exit code. */
int bench_startup_probe(clq_backend backend);
/* Parent side: runs the probe cold (fresh CLQ_CACHE_DIR / POCL_CACHE_DIR) and
 * warm (same dirs), prints both and warm/cold against the goal. Returns non-zero
 * only when a probe could not be run. */
int bench_startup_section(clq_backend backend, const char *backend_arg);

#endif
