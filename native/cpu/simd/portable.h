// Portable vector operations for the tile kernels: plain C++ on 4-float blocks that any compiler
// can map to SSE2 or NEON. The fallback on CPUs without AVX2 and the path on arm64.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace infonce::cpu::portable {

struct Simd {
  struct Vec {
    float lane[4];
  };
  static constexpr const char* name = "portable";
  static constexpr int width = 4;
  static constexpr int microRows = 4;
  static constexpr int microVectors = 2;

  static inline Vec zero() { return set1(0.0f); }
  static inline Vec set1(float v) { return Vec{{v, v, v, v}}; }
  static inline Vec load(const float* p) {
    Vec v;
    std::memcpy(v.lane, p, sizeof v.lane);
    return v;
  }
  static inline void store(float* p, Vec v) { std::memcpy(p, v.lane, sizeof v.lane); }
  template <typename Op>
  static inline Vec each(Vec a, Vec b, Op op) {
    Vec r;
    for (int i = 0; i < 4; ++i) r.lane[i] = op(a.lane[i], b.lane[i]);
    return r;
  }
  static inline Vec add(Vec a, Vec b) { return each(a, b, [](float u, float v) { return u + v; }); }
  static inline Vec sub(Vec a, Vec b) { return each(a, b, [](float u, float v) { return u - v; }); }
  static inline Vec mul(Vec a, Vec b) { return each(a, b, [](float u, float v) { return u * v; }); }
  static inline Vec max(Vec a, Vec b) { return each(a, b, [](float u, float v) { return u > v ? u : v; }); }
  static inline Vec fmadd(Vec a, Vec b, Vec c) {
    Vec r;
    for (int i = 0; i < 4; ++i) r.lane[i] = a.lane[i] * b.lane[i] + c.lane[i];
    return r;
  }
  static inline Vec addIfBelow(Vec acc, Vec value, Vec x, Vec limit) {
    Vec r;
    for (int i = 0; i < 4; ++i) r.lane[i] = acc.lane[i] + (x.lane[i] < limit.lane[i] ? value.lane[i] : 0.0f);
    return r;
  }
  static inline float reduceAdd(Vec v) { return (v.lane[0] + v.lane[1]) + (v.lane[2] + v.lane[3]); }
  static inline float reduceMax(Vec v) {
    float a = v.lane[0] > v.lane[1] ? v.lane[0] : v.lane[1];
    float b = v.lane[2] > v.lane[3] ? v.lane[2] : v.lane[3];
    return a > b ? a : b;
  }

  // Same algorithm and constants as the AVX-512 version (see simd/avx512.h), one lane at a time.
  static inline float expLane(float x) {
    if (!(x >= -87.33654f)) return x != x ? x : 0.0f;  // NaN stays NaN; below FLT_MIN (or -inf) is 0
    if (x > 88.0f) x = 88.0f;
    const float n = std::nearbyint(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + (r + 1.0f);
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
  static inline Vec exp(Vec x) {
    Vec r;
    for (int i = 0; i < 4; ++i) r.lane[i] = expLane(x.lane[i]);
    return r;
  }
};

}  // namespace infonce::cpu::portable
