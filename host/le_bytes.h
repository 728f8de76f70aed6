/* le_bytes.h: little-endian integers and float bit patterns in byte strings, for the
 * calibrator's saved states (api_calib_state.c, calib_hist.c). */
#ifndef CLQ_LE_BYTES_H
#define CLQ_LE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void clq__put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t clq__get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static inline uint32_t clq__f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline float clq__bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint64_t clq__f64_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static inline double clq__bits_f64(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
#endif
