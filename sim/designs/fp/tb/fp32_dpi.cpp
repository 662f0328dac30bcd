// FP32 multiply and add for FP=behavioural simulation builds (DPI-C).
//
// Bit-exact with hw/fp32 by construction: one IEEE-754 binary32 operation in
// the host's SSE unit (x86-64: no excess precision), round to nearest even (the default rounding mode),
// subnormals kept (nothing in the simulator sets FTZ/DAZ), no FMA
// contraction (one operation per call, built with -ffp-contract=off), and
// every NaN returned as the quiet NaN 0x7FC00000 the RTL produces.
#include <cmath>
#include <cstdint>
#include <cstring>

static inline float as_float(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint32_t as_bits(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return std::isnan(value) ? 0x7FC00000u : bits;
}

extern "C" unsigned int pp_fp32_mul(unsigned int a, unsigned int b) {
    return as_bits(as_float(a) * as_float(b));
}

extern "C" unsigned int pp_fp32_add(unsigned int a, unsigned int b) {
    return as_bits(as_float(a) + as_float(b));
}
