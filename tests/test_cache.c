/* test_cache.c: the on-disk program cache of the OpenCL backend: a second context loads
 * instead of building, corrupt or truncated entries are rebuilt silently, "off" disables it. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under the build tree's cache dir (or /tmp), removed by cleanup(). */
static void fresh_dir(char *dir, size_t size) {
    const char *base = getenv("CLQ_CACHE_DIR");
    char parent[900];
    snprintf(parent, sizeof parent, "%s", base && *base && strcmp(base, "off") ? base : "/tmp");
    for (char *p = parent + 1; *p; p++) /* mkdir -p: ctest's dir may not exist yet */
        if (*p == '/') {
            *p = 0;
            mkdir(parent, 0755);
            *p = '/';
        }
    mkdir(parent, 0755);
    snprintf(dir, size, "%s/cache-test-XXXXXX", parent);
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp(%s) failed", dir);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}
static void cleanup(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Regular files under dir (recursively); their paths go to paths when not NULL. */
static int list_files(const char *dir, char paths[][1200], int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) n += list_files(p, paths ? paths + n : NULL, max - n);
        else if (S_ISREG(st.st_mode) && n < max) {
            if (paths) snprintf(paths[n], 1200, "%s", p);
            n++;
        }
    }
    closedir(d);
    return n;
}

static clq_context *cl_context_with_cache(const char *dir) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_OPENCL;
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    o.cache_dir = dir;
    return tc_context_opts(&o);
}

/* One quantize (the same data every time) whose bytes are returned in y; checked
 * against the reference. Returns the context's stats after it. */
enum { R = 13, C = 37, N = R * C };
static clq_context_stats quantize_once(clq_context *ctx, uint8_t *y) {
    float x[N];
    tc_rng rng;
    tc_rng_seed(&rng, 31337);
    for (int i = 0; i < N; i++) x[i] = tc_value(&rng, TC_NORMAL);
    float s = 0.021f;
    int32_t z = 7;
    size_t shape[2] = {R, C};
    clq_buffer *xb = tc_buffer(ctx, sizeof x, x), *sb = tc_buffer(ctx, 4, &s), *zb = tc_buffer(ctx, 4, &z);
    clq_buffer *yb = tc_buffer(ctx, N, NULL);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
    clq_tensor_init(&yt, CLQ_U8, 2, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_U8;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    tc_read(yb, N, y);
    for (int i = 0; i < N; i++) {
        int want = ref_quantize_one(x[i], s, z, 0, 255, CLQ_ROUND_HALF_EVEN, 0);
        cr_assert_eq(y[i], want, "cache test quantize [%d]: expected %d got %d", i, want, y[i]);
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    clq_context_stats st;
    clq_context_stats_init(&st);
    TC_OK(ctx, clq_context_get_stats(ctx, &st));
    return st;
}

typedef enum { CORRUPT_TRUNCATE, CORRUPT_FLIP, CORRUPT_GARBAGE } corruption;

static void corrupt_all(const char *dir, corruption how) {
    static char paths[64][1200];
    int n = list_files(dir, paths, 64);
    cr_assert(n > 0, "no cache files in %s", dir);
    for (int i = 0; i < n; i++) {
        struct stat st;
        cr_assert(stat(paths[i], &st) == 0);
        if (how == CORRUPT_TRUNCATE) {
            cr_assert(truncate(paths[i], st.st_size / 2) == 0);
            continue;
        }
        int fd = open(paths[i], O_RDWR);
        cr_assert(fd >= 0);
        if (how == CORRUPT_FLIP) {
            /* one byte in the middle of the payload: only a checksum catches it */
            off_t at = st.st_size * 3 / 4;
            unsigned char b;
            cr_assert(pread(fd, &b, 1, at) == 1);
            b ^= 0x5a;
            cr_assert(pwrite(fd, &b, 1, at) == 1);
        } else {
            unsigned char junk[256];
            for (int k = 0; k < 256; k++) junk[k] = (unsigned char)(k * 131 + 7);
            cr_assert(ftruncate(fd, 0) == 0);
            cr_assert(pwrite(fd, junk, sizeof junk, 0) == (ssize_t)sizeof junk);
        }
        close(fd);
    }
}

Test(cache, build_then_load_then_rebuild_corrupt) {
    char dir[1024];
    fresh_dir(dir, sizeof dir);
    uint8_t y1[N], y2[N], y3[N];

    clq_context *ctx = cl_context_with_cache(dir);
    clq_context_stats st = quantize_once(ctx, y1);
    clq_context_destroy(ctx);
    cr_assert(st.programs_built > 0, "a fresh cache dir: built %u, loaded %u", st.programs_built, st.programs_loaded);
    cr_assert_eq(st.programs_loaded, 0u, "a fresh cache dir cannot load anything");
    cr_assert(list_files(dir, NULL, 64) > 0, "nothing written to the cache dir %s", dir);

    ctx = cl_context_with_cache(dir);
    st = quantize_once(ctx, y2);
    clq_context_destroy(ctx);
    cr_assert_eq(st.programs_built, 0u, "second context on the same device rebuilt %u programs", st.programs_built);
    cr_assert(st.programs_loaded > 0, "second context loaded nothing from the cache");
    cr_assert_eq(st.cache_rejected, 0u);
    cr_assert_arr_eq(y1, y2, N, "results differ between a built and a loaded program");

    static const corruption kinds[] = {CORRUPT_TRUNCATE, CORRUPT_FLIP, CORRUPT_GARBAGE};
    static const char *names[] = {"truncated", "one byte flipped", "garbage"};
    for (int k = 0; k < 3; k++) {
        corrupt_all(dir, kinds[k]);
        ctx = cl_context_with_cache(dir);
        st = quantize_once(ctx, y3); /* checks the result against the reference */
        clq_context_destroy(ctx);
        cr_assert(st.cache_rejected > 0, "%s cache file not rejected (loaded %u, built %u)", names[k],
                  st.programs_loaded, st.programs_built);
        cr_assert(st.programs_built > 0, "%s cache file: nothing rebuilt", names[k]);
        cr_assert_arr_eq(y1, y3, N);
        /* the rebuild rewrote the entry: the next context loads it again */
        ctx = cl_context_with_cache(dir);
        st = quantize_once(ctx, y3);
        clq_context_destroy(ctx);
        cr_assert(st.programs_built == 0 && st.programs_loaded > 0 && st.cache_rejected == 0,
                  "after rebuilding a %s entry: built %u loaded %u rejected %u", names[k], st.programs_built,
                  st.programs_loaded, st.cache_rejected);
    }
    cleanup(dir);
}

Test(cache, disabled_and_env_dir) {
    char dir[1024];
    fresh_dir(dir, sizeof dir);
    uint8_t y[N];
    /* "off" and "" disable the cache, even with CLQ_CACHE_DIR set */
    static const char *off[] = {"off", ""};
    for (int i = 0; i < 2; i++) {
        setenv("CLQ_CACHE_DIR", dir, 1);
        clq_context_options o;
        clq_context_options_init(&o);
        o.backend = CLQ_BACKEND_OPENCL;
        o.cache_dir = off[i];
        clq_context *ctx = tc_context_opts(&o);
        clq_context_stats st = quantize_once(ctx, y);
        clq_context_destroy(ctx);
        cr_assert(st.programs_built > 0 && st.programs_loaded == 0, "cache_dir \"%s\": built %u loaded %u", off[i],
                  st.programs_built, st.programs_loaded);
        cr_assert_eq(list_files(dir, NULL, 64), 0, "cache_dir \"%s\" still wrote into %s", off[i], dir);
    }
    /* options NULL: the environment picks the directory */
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_OPENCL;
    clq_context *ctx = tc_context_opts(&o);
    quantize_once(ctx, y);
    clq_context_destroy(ctx);
    cr_assert(list_files(dir, NULL, 64) > 0, "CLQ_CACHE_DIR=%s was not used", dir);
    /* CLQ_CACHE_DIR=off disables it too */
    setenv("CLQ_CACHE_DIR", "off", 1);
    ctx = tc_context_opts(&o);
    clq_context_stats st = quantize_once(ctx, y);
    clq_context_destroy(ctx);
    cr_assert_eq(st.programs_loaded, 0u, "CLQ_CACHE_DIR=off still loaded from a cache");
    cleanup(dir);
}
