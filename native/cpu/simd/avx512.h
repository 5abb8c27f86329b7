// AVX-512 (F/DQ/BW/VL) vector operations for the tile kernels. Compiled only into kernels_avx512.cpp.
// Micro-tile 12×32: 24 zmm accumulators + 2 vectors of B + 1 broadcast of A fit the 32 registers, and
// 12 broadcasts + 2 loads feed 24 FMAs per step of the depth loop.
#pragma once

#include <immintrin.h>

namespace infonce::cpu::avx512 {

struct Simd {
  using Vec = __m512;
  static constexpr const char* name = "avx512";
  static constexpr int width = 16;
  static constexpr int microRows = 12;
  static constexpr int microVectors = 2;

  static inline Vec zero() { return _mm512_setzero_ps(); }
  static inline Vec set1(float v) { return _mm512_set1_ps(v); }
  static inline Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static inline Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static inline Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static inline Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static inline Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  // acc + (x < limit ? value : 0), lane by lane.
  static inline Vec addIfBelow(Vec acc, Vec value, Vec x, Vec limit) {
    return _mm512_mask_add_ps(acc, _mm512_cmp_ps_mask(x, limit, _CMP_LT_OQ), acc, value);
  }
  static inline float reduceAdd(Vec v) { return _mm512_reduce_add_ps(v); }
  static inline float reduceMax(Vec v) { return _mm512_reduce_max_ps(v); }

  // e^x to about 1 ulp (Cephes' expf polynomial after a Cody–Waite reduction by ln 2). Inputs below
  // ln(FLT_MIN), -inf included, give 0: the softmax needs exp(-inf) = 0 for masked columns.
  static inline Vec exp(Vec x) {
    const __mmask16 underflow = _mm512_cmp_ps_mask(x, set1(-87.33654f), _CMP_LT_OQ);
    x = _mm512_max_ps(_mm512_min_ps(x, set1(88.0f)), set1(-87.33654f));
    const Vec n = _mm512_roundscale_ps(mul(x, set1(1.44269504088896341f)),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    Vec r = _mm512_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    Vec p = set1(1.9875691500e-4f);
    p = fmadd(p, r, set1(1.3981999507e-3f));
    p = fmadd(p, r, set1(8.3334519073e-3f));
    p = fmadd(p, r, set1(4.1665795894e-2f));
    p = fmadd(p, r, set1(1.6666665459e-1f));
    p = fmadd(p, r, set1(5.0000001201e-1f));
    p = fmadd(p, mul(r, r), add(r, set1(1.0f)));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mask_blend_ps(underflow, mul(p, _mm512_castsi512_ps(bits)), zero());
  }
};

}  // namespace infonce::cpu::avx512
