/* cli_files.c: model files and temporary directories for the clquant tool's suites. */
#include "cli_files.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tf_write_safetensors(const char *path, const tf_tensor *t, size_t n, const char *const *meta)
{
    char *json = NULL;
    size_t len = 0;
    FILE *h = open_memstream(&json, &len);
    cr_assert(h);
    fputc('{', h);
    if (meta) {
        fputs("\"__metadata__\":{", h);
        for (size_t i = 0; meta[i]; i += 2) fprintf(h, "%s\"%s\":\"%s\"", i ? "," : "", meta[i], meta[i + 1]);
        fputs("}", h);
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        fprintf(h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", meta || i ? "," : "", t[i].name, t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) fprintf(h, "%s%llu", d ? "," : "", (unsigned long long)t[i].shape[d]);
        fprintf(h, "],\"data_offsets\":[%zu,%zu]}", at, at + t[i].nbytes);
        at += t[i].nbytes;
    }
    fputc('}', h);
    while ((ftell(h) + 8) % 8) fputc(' ', h); /* data 8-aligned, as the Rust writer pads */
    cr_assert_eq(fclose(h), 0);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(json, 1, len, f);
    for (size_t i = 0; i < n; i++) fwrite(t[i].data, 1, t[i].nbytes, f);
    cr_assert_eq(fclose(f), 0);
    free(json);
}

char *tf_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/clq-cli-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    cr_assert(d, "mkdtemp %s", tmpl);
    return strdup(d);
}

char *tf_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tf_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "opendir %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

unsigned char *tf_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    cr_assert(p);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return p;
}

void tf_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}
