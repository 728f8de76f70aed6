/* cli_files.h: small model files for the clquant tool's suites: safetensors written from
 * a tensor list, temporary directories, and reading a file back whole. */
#ifndef CLQ_TEST_CLI_FILES_H
#define CLQ_TEST_CLI_FILES_H

#include <stddef.h>
#include <stdint.h>

typedef struct tf_tensor {
    const char *name;
    const char *dtype;   /* safetensors dtype string */
    int ndim;
    uint64_t shape[4];
    const void *data;    /* nbytes of it */
    size_t nbytes;
} tf_tensor;

/* Writes path as safetensors: the tensors in order, data contiguous, __metadata__ from
 * the NULL-ended key, value pairs in meta (may be NULL). */
void tf_write_safetensors(const char *path, const tf_tensor *t, size_t n, const char *const *meta);
/* A fresh directory under TMPDIR (or /tmp); malloc'd path. */
char *tf_tempdir(void);
/* "dir/name", malloc'd. */
char *tf_path(const char *dir, const char *name);
/* Entries of dir other than . and .. */
int tf_count_entries(const char *dir);
/* The whole file, malloc'd (NULL when it does not exist); *size its length. */
unsigned char *tf_read_file(const char *path, size_t *size);
void tf_write_file(const char *path, const void *data, size_t size);

#endif /* CLQ_TEST_CLI_FILES_H */
