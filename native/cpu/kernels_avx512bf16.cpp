// bf16 products on AVX512-BF16: operands rounded to bf16 (to nearest even) and multiplied by
// vdpbf16ps, which adds the products of a pair of bf16 to each fp32 lane. Twice the multiply-adds of
// an fp32 FMA per instruction, at the precision the README (The loss) allows bf16 paths (1e-2).
//
// Packed layouts hold pairs of consecutive depth entries in one 32-bit word (low half = lower k):
// panel p, pair k/2, lane r. A micro-tile of 12 rows × 32 columns: each step loads 2 vectors of 16
// column pairs and broadcasts 12 row pairs into 24 accumulators, like the fp32 kernel but over two
// depth entries a step. FLOPs: the fp32 kernel's; bytes: half.
#include <immintrin.h>

#include <cstdint>

#include "tile_kernels.h"

namespace infonce::cpu::avx512bf16 {
namespace {

constexpr int kMicroRows = 12;
constexpr int kMicroVectors = 2;
constexpr int kMicroCols = 16 * kMicroVectors;
constexpr int64_t kPairBlock = 128;  // 256 depth entries: a B panel of 16 KiB stays in L1

inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t panelsFor(int64_t n, int64_t width) { return (n + width - 1) / width; }
inline int64_t pairsFor(int64_t depth) { return (depth + 1) / 2; }

inline uint16_t toBf16(float v) {
  uint32_t bits;
  __builtin_memcpy(&bits, &v, 4);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
inline uint32_t pairOf(float low, float high) { return uint32_t(toBf16(low)) | (uint32_t(toBf16(high)) << 16); }

// Across the depth: word (p, k/2, r) = the pair (src[row][k], src[row][k+1]) of row p·width + r.
void packAcrossDepth(const float* src, int64_t ld, int64_t rows, int64_t depth, const float* rowScale, float scale,
                     int width, float* dst) {
  uint32_t* out32 = reinterpret_cast<uint32_t*>(dst);
  const int64_t pairs = pairsFor(depth), panels = panelsFor(rows, width);
  for (int64_t p = 0; p < panels; ++p) {
    uint32_t* out = out32 + p * pairs * width;
    for (int r = 0; r < width; ++r) {
      const int64_t row = p * width + r;
      if (row >= rows) {
        for (int64_t k = 0; k < pairs; ++k) out[k * width + r] = 0;
        continue;
      }
      const float s = rowScale ? scale * rowScale[row] : scale;
      const float* in = src + row * ld;
      int64_t k = 0;
      alignas(64) uint32_t converted[16];
      const __m512 scales = _mm512_set1_ps(s);
      for (; k + 16 <= pairs && 2 * k + 32 <= depth; k += 16) {
        const __m512 low = _mm512_mul_ps(_mm512_loadu_ps(in + 2 * k), scales);
        const __m512 high = _mm512_mul_ps(_mm512_loadu_ps(in + 2 * k + 16), scales);
        _mm512_store_si512(converted, (__m512i)_mm512_cvtne2ps_pbh(high, low));
        for (int e = 0; e < 16; ++e) out[(k + e) * width + r] = converted[e];
      }
      for (; k < pairs; ++k) {
        const float high = 2 * k + 1 < depth ? in[2 * k + 1] * s : 0.0f;
        out[k * width + r] = pairOf(in[2 * k] * s, high);
      }
    }
  }
}

// Along the depth: word (q, k/2, c) = the pair (src[k][q·width + c], src[k+1][q·width + c]).
void packAlongDepth(const float* src, int64_t ld, int64_t depth, int64_t cols, const float* rowScale, int width,
                    float* dst) {
  uint32_t* out32 = reinterpret_cast<uint32_t*>(dst);
  const int64_t pairs = pairsFor(depth), panels = panelsFor(cols, width);
  for (int64_t k = 0; k < pairs; ++k) {
    const int64_t k0 = 2 * k, k1 = 2 * k + 1;
    const float s0 = rowScale ? rowScale[k0] : 1.0f;
    const float s1 = k1 < depth ? (rowScale ? rowScale[k1] : 1.0f) : 0.0f;
    const float* in0 = src + k0 * ld;
    const float* in1 = k1 < depth ? src + k1 * ld : in0;
    for (int64_t q = 0; q < panels; ++q) {
      uint32_t* out = out32 + (q * pairs + k) * width;
      const int64_t first = q * width;
      const int64_t count = smaller(width, cols - first);
      for (int64_t c = 0; c < count; ++c) out[c] = pairOf(in0[first + c] * s0, in1[first + c] * s1);
      for (int64_t c = count; c < width; ++c) out[c] = 0;
    }
  }
}

template <bool Accumulate>
inline void microKernel(int64_t pairs, const uint32_t* __restrict a, const uint32_t* __restrict b,
                        float* __restrict c, int64_t ldc) {
  __m512 acc[kMicroRows][kMicroVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < pairs; ++k) {
    __m512bh bv[kMicroVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) bv[v] = (__m512bh)_mm512_loadu_si512(b + k * kMicroCols + v * 16);
#pragma GCC unroll 16
    for (int r = 0; r < kMicroRows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[k * kMicroRows + r]));
#pragma GCC unroll 4
      for (int v = 0; v < kMicroVectors; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) {
      float* out = c + r * ldc + v * 16;
      _mm512_storeu_ps(out, Accumulate ? _mm512_add_ps(_mm512_loadu_ps(out), acc[r][v]) : acc[r][v]);
    }
}

void multiplyPacked(const float* a, const float* b, int64_t rows, int64_t cols, int64_t depth, float* c, int64_t ldc,
                    bool accumulate) {
  const uint32_t* a32 = reinterpret_cast<const uint32_t*>(a);
  const uint32_t* b32 = reinterpret_cast<const uint32_t*>(b);
  const int64_t pairs = pairsFor(depth);
  const int64_t rowPanels = panelsFor(rows, kMicroRows), colPanels = panelsFor(cols, kMicroCols);
  alignas(64) float edge[kMicroRows * kMicroCols];
  for (int64_t k0 = 0; k0 < pairs || k0 == 0; k0 += kPairBlock) {
    const int64_t length = smaller(kPairBlock, pairs - k0);
    const bool add = accumulate || k0 > 0;
    for (int64_t q = 0; q < colPanels; ++q) {
      const uint32_t* bPanel = b32 + q * pairs * kMicroCols + k0 * kMicroCols;
      const int64_t col0 = q * kMicroCols, colCount = smaller(kMicroCols, cols - col0);
      for (int64_t p = 0; p < rowPanels; ++p) {
        const uint32_t* aPanel = a32 + p * pairs * kMicroRows + k0 * kMicroRows;
        const int64_t row0 = p * kMicroRows, rowCount = smaller(kMicroRows, rows - row0);
        float* out = c + row0 * ldc + col0;
        if (rowCount == kMicroRows && colCount == kMicroCols) {
          if (add) microKernel<true>(length, aPanel, bPanel, out, ldc);
          else microKernel<false>(length, aPanel, bPanel, out, ldc);
        } else {
          microKernel<false>(length, aPanel, bPanel, edge, kMicroCols);
          for (int64_t r = 0; r < rowCount; ++r)
            for (int64_t j = 0; j < colCount; ++j)
              out[r * ldc + j] = (add ? out[r * ldc + j] : 0.0f) + edge[r * kMicroCols + j];
        }
      }
    }
    if (pairs == 0) break;
  }
}

}  // namespace

const ProductKernels& bf16Products() {
  static const ProductKernels products = {"bf16 (AVX512-BF16 dot products)", &packAcrossDepth, &packAlongDepth,
                                          &multiplyPacked};
  return products;
}

}  // namespace infonce::cpu::avx512bf16
