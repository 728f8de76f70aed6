/* fuzz_model.c: libFuzzer target over the clquant tool's model readers
 * (tools/clquant/st_read.c, gguf_read.c): built twice, as fuzz_safetensors (inputs
 * with GGUF's magic are left out) and fuzz_gguf (CQ_FUZZ_GGUF: every input gets the
 * magic, so the fuzzer spends its time past it). A parsed model is walked whole: every
 * byte of every tensor and every metadata value formatted, so that ASan sees any view
 * the reader let out of the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t head = 0;
#ifdef CQ_FUZZ_GGUF
    if (size < 4 || memcmp(data, "GGUF", 4)) head = 4;
#else
    if (size >= 4 && !memcmp(data, "GGUF", 4)) return 0;
#endif
    /* an allocation of exactly the file's size: one byte past it is a report */
    unsigned char *buf = malloc(size + head ? size + head : 1);
    if (!buf) return 0;
    memcpy(buf, "GGUF", head);
    if (size) memcpy(buf + head, data, size);
    cq_model m;
    cq_err err;
    if (cq_model_parse(&m, "fuzz", buf, size + head, &err) == 0) {
        volatile unsigned sum = 0;
        for (size_t i = 0; i < m.n_tensors; i++) {
            const cq_tensor_info *t = &m.tensors[i];
            for (uint64_t b = 0; b < t->nbytes; b++) sum += t->data[b];
            sum += (unsigned)strlen(t->name);
        }
        for (size_t i = 0; i < m.n_kv; i++) {
            char *s = cq_kv_format(&m.kv[i]);
            if (s) sum += (unsigned)strlen(s);
            free(s);
            (void)cq_model_kv(&m, m.kv[i].key);
        }
        (void)sum;
        cq_model_free(&m);
    }
    free(buf);
    return 0;
}
