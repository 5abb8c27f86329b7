// AVX2 + FMA vector operations for the tile kernels. Compiled only into kernels_avx2.cpp.
// Micro-tile 6×16: 12 ymm accumulators + 2 vectors of B + 1 broadcast of A fit the 16 registers.
#pragma once

#include <immintrin.h>

namespace infonce::cpu::avx2 {

struct Simd {
  using Vec = __m256;
  static constexpr const char* name = "avx2";
  static constexpr int width = 8;
  static constexpr int microRows = 6;
  static constexpr int microVectors = 2;

  static inline Vec zero() { return _mm256_setzero_ps(); }
  static inline Vec set1(float v) { return _mm256_set1_ps(v); }
  static inline Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static inline Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static inline Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static inline Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static inline Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static inline Vec addIfBelow(Vec acc, Vec value, Vec x, Vec limit) {
    return _mm256_add_ps(acc, _mm256_and_ps(_mm256_cmp_ps(x, limit, _CMP_LT_OQ), value));
  }
  static inline float reduceAdd(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float reduceMax(Vec v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // Same algorithm and constants as the AVX-512 version (see simd/avx512.h).
  static inline Vec exp(Vec x) {
    const Vec underflow = _mm256_cmp_ps(x, set1(-87.33654f), _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_min_ps(x, set1(88.0f)), set1(-87.33654f));
    const Vec n = _mm256_round_ps(mul(x, set1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    Vec r = _mm256_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    Vec p = set1(1.9875691500e-4f);
    p = fmadd(p, r, set1(1.3981999507e-3f));
    p = fmadd(p, r, set1(8.3334519073e-3f));
    p = fmadd(p, r, set1(4.1665795894e-2f));
    p = fmadd(p, r, set1(1.6666665459e-1f));
    p = fmadd(p, r, set1(5.0000001201e-1f));
    p = fmadd(p, mul(r, r), add(r, set1(1.0f)));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_blendv_ps(mul(p, _mm256_castsi256_ps(bits)), zero(), underflow);
  }
};

}  // namespace infonce::cpu::avx2
