/* copy.cl: element-wise copy between two strided views of up to 8 dimensions
 * (1, 2 or 4 byte elements). Work item (chunk k, outer index o) copies up to
 * CLQ_COPY_CHUNK elements along the innermost dimension. */

/* The arguments are CLQ_KARGS_copy (bytes); each kernel reads them as T elements. */
#define COPY_KERNEL(NAME, T)                                                                   \
    kernel void NAME(CLQ_PARAMS(copy)) {                                                       \
        const global T *s_el = (const global T *)src;                                          \
        global T *d_el = (global T *)dst;                                                      \
        ulong k = get_global_id(0), o = get_global_id(1);                                      \
        ulong ulast = ((ulong *)&shape)[ndim - 1];                                             \
        ulong i0 = k * CLQ_COPY_CHUNK;                                                         \
        if (o >= nouter || i0 >= ulast) return;                                                \
        ulong i1 = min(ulast, i0 + (ulong)CLQ_COPY_CHUNK);                                     \
        long s = soff, d = doff;                                                               \
        ulong rem = o;                                                                         \
        for (int dim = ndim - 2; dim >= 0; dim--) {                                            \
            ulong ext = ((ulong *)&shape)[dim];                                                \
            ulong idx = rem % ext;                                                             \
            rem /= ext;                                                                        \
            s += (long)idx * ((long *)&sstr)[dim];                                             \
            d += (long)idx * ((long *)&dstr)[dim];                                             \
        }                                                                                      \
        long ss = ((long *)&sstr)[ndim - 1], ds = ((long *)&dstr)[ndim - 1];                   \
        for (ulong i = i0; i < i1; i++) d_el[d + (long)i * ds] = s_el[s + (long)i * ss];       \
    }

COPY_KERNEL(copy_strided1, uchar)
COPY_KERNEL(copy_strided2, ushort)
COPY_KERNEL(copy_strided4, uint)
