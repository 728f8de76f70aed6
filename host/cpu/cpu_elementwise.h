/* cpu_elementwise.h: the generic driver of the element-wise map ops (quantize,
 * dequantize): one job description, run over the pool chunk by chunk. */
#ifndef CLQ_CPU_ELEMENTWISE_H
#define CLQ_CPU_ELEMENTWISE_H

#include "cpu_internal.h"

/* One op. A side whose element size is 0 is 4-bit (two values a byte, low nibble
 * first): the driver stages it one value per byte per chunk (unpack4 before the
 * kernels for an input, pack4 after them for an output), or, when the kernels
 * set packed_ok and the layout's segments all start at even elements, sets
 * cfg.packed and lets them read or write the packed bytes themselves. */
typedef struct clq_cpu_ew_job {
    const clq_cpu_ewkernels *k;
    clq_cpu_ewcfg cfg;
    const clq_layout *lay;
    const char *in;
    size_t in_size; /* bytes per input element; 0: 4-bit */
    char *out;
    size_t out_size; /* bytes per output element; 0: 4-bit */
    const float *scale;
    const int32_t *zp; /* NULL: every zero point is 0 */
} clq_cpu_ew_job;

/* Runs j (sets j->cfg.packed); returns when every element is written. */
void clq__cpu_ew_run(clq_cpu_pool *pool, clq_cpu_ew_job *j);

/* Whether every run/blocks segment the walk emits for l starts at an even element
 * (only the tensor's last one may be odd) and no vec segment is emitted. */
int clq__cpu_ew_even_segments(const clq_layout *l);

#endif
