/* test_cache.c: the on-disk program cache of the OpenCL backend: a second context loads
 * instead of building, corrupt or truncated entries are rebuilt silently, "off" disables it;
 * entries that are FIFOs, directories, symlinks or another program's binary never hang or
 * break an op; a cache dir or entry that others could write is not used; what the library
 * creates is private (0700 / 0600). */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
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

/* ---- entries that are not what they seem, and who may write the cache ---- */

/* One dequantize (a second program): checked against the exact formula. */
static clq_context_stats dequantize_once(clq_context *ctx) {
    uint8_t q[N];
    for (int i = 0; i < N; i++) q[i] = (uint8_t)(i * 37 + 11);
    float s = 0.125f, y[N];
    int32_t z = 9;
    size_t shape[2] = {R, C};
    clq_buffer *qb = tc_buffer(ctx, sizeof q, q), *sb = tc_buffer(ctx, 4, &s), *zb = tc_buffer(ctx, 4, &z);
    clq_buffer *yb = tc_buffer(ctx, sizeof y, NULL);
    clq_tensor qt, yt;
    clq_tensor_init(&qt, CLQ_U8, 2, shape, qb);
    clq_tensor_init(&yt, CLQ_F32, 2, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_U8;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_dequantize(ctx, &qt, &qp, &yt));
    tc_read(yb, sizeof y, y);
    for (int i = 0; i < N; i++)
        cr_assert_eq(y[i], (float)(q[i] - z) * s, "cache test dequantize [%d]: got %g", i, (double)y[i]);
    clq_buffer_destroy(qb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    clq_context_stats st;
    clq_context_stats_init(&st);
    TC_OK(ctx, clq_context_get_stats(ctx, &st));
    return st;
}

/* A fresh dir holding exactly the entry of the quantize program; its path goes to entry. */
static void dir_with_quantize_entry(char *dir, size_t size, char *entry) {
    uint8_t y[N];
    fresh_dir(dir, size);
    clq_context *ctx = cl_context_with_cache(dir);
    quantize_once(ctx, y);
    clq_context_destroy(ctx);
    static char paths[4][1200];
    cr_assert_eq(list_files(dir, paths, 4), 1, "quantize should leave exactly one cache entry in %s", dir);
    snprintf(entry, 1200, "%s", paths[0]);
}

/* A context on dir runs the quantize; returns its stats (the result is checked). */
static clq_context_stats quantize_in(const char *dir) {
    uint8_t y[N];
    clq_context *ctx = cl_context_with_cache(dir);
    clq_context_stats st = quantize_once(ctx, y);
    clq_context_destroy(ctx);
    return st;
}

/* Runs `call` once (a clq_context_stats expression) and checks the four counters. */
#define EXPECT_STATS(call, built, loaded, rejected, refused, what)                                       \
    do {                                                                                                 \
        clq_context_stats st_ = (call);                                                                  \
        cr_assert(st_.programs_built == (built) && st_.programs_loaded == (loaded) &&                    \
                      st_.cache_rejected == (rejected) && st_.cache_refused == (refused),                \
                  "%s: built %u loaded %u rejected %u refused %u, expected %u %u %u %u", what,           \
                  st_.programs_built, st_.programs_loaded, st_.cache_rejected, st_.cache_refused,        \
                  (unsigned)(built), (unsigned)(loaded), (unsigned)(rejected), (unsigned)(refused));     \
    } while (0)

/* A regression here would block in open() forever: fail instead. */
static void watchdog(void) { alarm(120); }

Test(cache, fifo_dir_and_symlink_entries) {
    watchdog();
    char dir[1024], entry[1200], saved[1300];
    dir_with_quantize_entry(dir, sizeof dir, entry);
    snprintf(saved, sizeof saved, "%s.saved", dir);
    cr_assert(rename(entry, saved) == 0);

    /* a FIFO (nobody writes it): rejected without blocking, replaced by the rebuild */
    cr_assert(mkfifo(entry, 0600) == 0, "mkfifo(%s)", entry);
    EXPECT_STATS(quantize_in(dir), 1, 0, 1, 0, "FIFO entry");
    struct stat sb;
    cr_assert(lstat(entry, &sb) == 0 && S_ISREG(sb.st_mode), "the FIFO entry was not replaced");
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "after replacing a FIFO entry");

    /* a directory: rejected every time (a file cannot replace it), never fatal */
    cr_assert(unlink(entry) == 0 && mkdir(entry, 0700) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 1, 0, "directory entry");
    cr_assert(rmdir(entry) == 0);

    /* a symlink to a valid entry: refused (not followed), replaced by a file */
    cr_assert(symlink(saved, entry) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "symlink entry");
    cr_assert(lstat(entry, &sb) == 0 && S_ISREG(sb.st_mode), "the symlink entry was not replaced");
    cr_assert(lstat(saved, &sb) == 0 && S_ISREG(sb.st_mode), "the symlink's target was touched");
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "after replacing a symlink entry");
    unlink(saved);
    cleanup(dir);
    alarm(0);
}

/* The header (host/opencl/cl_program.c): magic[8], format, header_size, key[2],
 * payload_len, payload_sum; the checksum covers the payload only. */
enum { HDR_KEY = 16, HDR_KEY_LEN = 16 };

static size_t slurp(const char *path, unsigned char **out) {
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "open %s", path);
    cr_assert(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    cr_assert(n > 0);
    rewind(f);
    *out = malloc((size_t)n);
    cr_assert(*out && fread(*out, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return (size_t)n;
}

Test(cache, valid_entry_of_another_program) {
    char qdir[1024], ddir[1024], qentry[1200];
    dir_with_quantize_entry(qdir, sizeof qdir, qentry);
    fresh_dir(ddir, sizeof ddir);
    clq_context *ctx = cl_context_with_cache(ddir);
    dequantize_once(ctx);
    clq_context_destroy(ctx);
    static char dpaths[4][1200];
    cr_assert_eq(list_files(ddir, dpaths, 4), 1, "dequantize should leave exactly one cache entry");

    /* the dequantize binary, with its own valid checksum, under the quantize key */
    unsigned char *q, *d;
    size_t qn = slurp(qentry, &q), dn = slurp(dpaths[0], &d);
    cr_assert(qn > HDR_KEY + HDR_KEY_LEN && dn > HDR_KEY + HDR_KEY_LEN);
    memcpy(d + HDR_KEY, q + HDR_KEY, HDR_KEY_LEN);
    FILE *f = fopen(qentry, "wb");
    cr_assert(f && fwrite(d, 1, dn, f) == dn && fclose(f) == 0);
    free(q);
    free(d);

    /* a stale entry: rebuilt silently, the entry rewritten, the next context loads it */
    EXPECT_STATS(quantize_in(qdir), 1, 0, 1, 0, "another program's entry");
    EXPECT_STATS(quantize_in(qdir), 0, 1, 0, 0, "after the rebuild");
    cleanup(qdir);
    cleanup(ddir);
}

/* What the library creates: the cache dir 0700, entries 0600, whatever the umask. */
Test(cache, created_private) {
    char base[1024], dir[1200];
    fresh_dir(base, sizeof base);
    snprintf(dir, sizeof dir, "%s/made/by/clq/", base);
    mode_t old = umask(0);
    clq_context_stats st = quantize_in(dir);
    umask(old);
    EXPECT_STATS(st, 1, 0, 0, 0, "a missing cache dir");
    struct stat sb;
    char leaf[1200];
    snprintf(leaf, sizeof leaf, "%s/made/by/clq", base);
    cr_assert(stat(leaf, &sb) == 0 && S_ISDIR(sb.st_mode));
    cr_assert_eq(sb.st_mode & 07777, 0700, "cache dir made %o", (unsigned)(sb.st_mode & 07777));
    static char paths[4][1200];
    cr_assert_eq(list_files(leaf, paths, 4), 1);
    cr_assert(stat(paths[0], &sb) == 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "cache entry made %o", (unsigned)(sb.st_mode & 07777));
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "the dir the library made");
    cleanup(base);
}

/* Writable by group or others: neither read nor written, and counted. */
Test(cache, shared_writable_dir_refused) {
    char dir[1024], entry[1200];
    dir_with_quantize_entry(dir, sizeof dir, entry);
    static const mode_t modes[] = {0777, 0770, 0702, 01777};
    for (int i = 0; i < 4; i++) {
        cr_assert(chmod(dir, modes[i]) == 0);
        EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "a group/other-writable cache dir");
        cr_assert_eq(list_files(dir, NULL, 64), 1, "wrote into a dir of mode %o", (unsigned)modes[i]);
    }
    /* empty, it stays empty */
    cr_assert(unlink(entry) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "an empty group/other-writable cache dir");
    cr_assert_eq(list_files(dir, NULL, 64), 0, "wrote into an other-writable dir");
    /* read-only for others is fine */
    cr_assert(chmod(dir, 0755) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 0, 0, "a 0755 cache dir");
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "a 0755 cache dir, warm");
    cleanup(dir);
}

Test(cache, writable_entry_refused) {
    char dir[1024], entry[1200];
    dir_with_quantize_entry(dir, sizeof dir, entry);
    static const mode_t modes[] = {0666, 0620, 0602};
    for (int i = 0; i < 3; i++) {
        cr_assert(chmod(entry, modes[i]) == 0);
        EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "a group/other-writable entry");
        /* the rebuild replaced it with a private one */
        struct stat sb;
        cr_assert(stat(entry, &sb) == 0 && (sb.st_mode & 07777) == 0600, "entry left at %o",
                  (unsigned)(sb.st_mode & 07777));
        EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "after replacing a writable entry");
    }
    cr_assert(chmod(entry, 0444) == 0); /* read-only is fine */
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "a 0444 entry");
    cleanup(dir);
}

Test(cache, other_users_refused) {
    if (geteuid() != 0) cr_skip_test("needs root to chown to another user");
    const uid_t nobody = 65534;
    char dir[1024], entry[1200];
    dir_with_quantize_entry(dir, sizeof dir, entry);
    cr_assert(chown(entry, nobody, (gid_t)-1) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "another user's entry");
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "after replacing another user's entry");
    cr_assert(chown(dir, nobody, (gid_t)-1) == 0);
    EXPECT_STATS(quantize_in(dir), 1, 0, 0, 1, "another user's cache dir");
    cr_assert(chown(dir, geteuid(), (gid_t)-1) == 0);
    EXPECT_STATS(quantize_in(dir), 0, 1, 0, 0, "the cache dir ours again");
    cleanup(dir);
}

/* An older caller's smaller struct: filled as far as it goes, nothing written past it. */
Test(cache, stats_older_struct) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_CPU;
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    clq_context *ctx = tc_context_opts(&o);
    clq_context_stats st;
    memset(&st, 0xa5, sizeof st);
    st.struct_size = offsetof(clq_context_stats, cache_refused);
    TC_OK(ctx, clq_context_get_stats(ctx, &st));
    cr_assert_eq(st.struct_size, offsetof(clq_context_stats, cache_refused), "struct_size changed");
    cr_assert(st.programs_built == 0 && st.programs_loaded == 0 && st.cache_rejected == 0);
    cr_assert_eq(st.cache_refused, 0xa5a5a5a5u, "wrote past the caller's struct_size");
    st.struct_size = 0;
    cr_assert_eq(clq_context_get_stats(ctx, &st), CLQ_ERROR_INVALID_ARGUMENT);
    clq_context_destroy(ctx);
}
