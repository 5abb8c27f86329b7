// The tile kernels, written once against a `Simd` vector type (simd/*.h) and included by each
// kernels_<isa>.cpp inside that ISA's namespace, so every instantiation has its own symbols and no
// AVX-512 code can leak into a path chosen for an older CPU. Keep std:: templates out of here for
// the same reason (an inline std::min compiled with -mavx512f could be picked by the linker for all).
//
// FLOPs per tile of bm×bn logits at depth D: the product 2·bm·bn·D; pass 1 adds ~2 exp per logit,
// pass 2 ~2 exp per logit plus the two gradient products (4·bm·bn·D). Bytes: the packed panels,
// (bm + bn)·D floats, stay in L2; the tile (bm·bn floats) stays in L1/L2.

namespace {

using Vec = Simd::Vec;
constexpr int kWidth = Simd::width;
constexpr int kMicroRows = Simd::microRows;
constexpr int kMicroVectors = Simd::microVectors;
constexpr int kMicroCols = kMicroVectors * kWidth;
// Depth of one sweep of the micro-kernel: a B panel of kDepthBlock×kMicroCols floats (32 KiB with
// AVX-512) stays in L1 while every A panel of the tile streams past it from L2.
constexpr int64_t kDepthBlock = 256;

inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t panelsFor(int64_t n, int64_t width) { return (n + width - 1) / width; }

// C[kMicroRows×kMicroCols] (+)= Σ_k a[k][·] ⊗ b[k][·]: the accumulators live in registers for the
// whole depth loop; each step loads kMicroVectors vectors of B and broadcasts kMicroRows values of A.
template <bool Accumulate>
inline void microKernel(int64_t depth, const float* __restrict a, const float* __restrict b, float* __restrict c,
                        int64_t ldc) {
  Vec acc[kMicroRows][kMicroVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) acc[r][v] = Simd::zero();
  for (int64_t k = 0; k < depth; ++k) {
    Vec bv[kMicroVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) bv[v] = Simd::load(b + k * kMicroCols + v * kWidth);
#pragma GCC unroll 16
    for (int r = 0; r < kMicroRows; ++r) {
      const Vec av = Simd::set1(a[k * kMicroRows + r]);
#pragma GCC unroll 4
      for (int v = 0; v < kMicroVectors; ++v) acc[r][v] = Simd::fmadd(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kMicroVectors; ++v) {
      float* out = c + r * ldc + v * kWidth;
      Simd::store(out, Accumulate ? Simd::add(Simd::load(out), acc[r][v]) : acc[r][v]);
    }
}

// bf16 by round-to-nearest-even, kept in an fp32 (the "rounded" bf16 family of CPUs without
// AVX512-BF16: the same numbers as bf16 products, at fp32 speed).
inline float roundToBf16(float v) {
  uint32_t bits;
  __builtin_memcpy(&bits, &v, 4);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  __builtin_memcpy(&v, &bits, 4);
  return v;
}

template <bool RoundToBf16>
inline float operand(float v) {
  return RoundToBf16 ? roundToBf16(v) : v;
}

template <bool RoundToBf16>
void packAcrossDepth(const float* src, int64_t ld, int64_t rows, int64_t depth, const float* rowScale, float scale,
                     int width, float* dst) {
  const int64_t panels = panelsFor(rows, width);
  for (int64_t p = 0; p < panels; ++p) {
    float* out = dst + p * depth * width;
    for (int r = 0; r < width; ++r) {
      const int64_t row = p * width + r;
      if (row < rows) {
        const float s = rowScale ? scale * rowScale[row] : scale;
        const float* in = src + row * ld;
        for (int64_t k = 0; k < depth; ++k) out[k * width + r] = operand<RoundToBf16>(in[k] * s);
      } else {
        for (int64_t k = 0; k < depth; ++k) out[k * width + r] = 0.0f;
      }
    }
  }
}

template <bool RoundToBf16>
void packAlongDepth(const float* src, int64_t ld, int64_t depth, int64_t cols, const float* rowScale, int width,
                    float* dst) {
  const int64_t panels = panelsFor(cols, width);
  for (int64_t k = 0; k < depth; ++k) {
    const float s = rowScale ? rowScale[k] : 1.0f;
    const float* in = src + k * ld;
    for (int64_t q = 0; q < panels; ++q) {
      float* out = dst + (q * depth + k) * width;
      const int64_t first = q * width;
      const int64_t count = smaller(width, cols - first);
      for (int64_t c = 0; c < count; ++c) out[c] = operand<RoundToBf16>(in[first + c] * s);
      for (int64_t c = count; c < width; ++c) out[c] = 0.0f;
    }
  }
}

void multiplyPacked(const float* a, const float* b, int64_t rows, int64_t cols, int64_t depth, float* c, int64_t ldc,
                    bool accumulate) {
  const int64_t rowPanels = panelsFor(rows, kMicroRows);
  const int64_t colPanels = panelsFor(cols, kMicroCols);
  alignas(64) float edge[kMicroRows * kMicroCols];
  for (int64_t k0 = 0; k0 < depth || k0 == 0; k0 += kDepthBlock) {
    const int64_t kLength = smaller(kDepthBlock, depth - k0);
    const bool add = accumulate || k0 > 0;
    for (int64_t q = 0; q < colPanels; ++q) {
      const float* bPanel = b + q * depth * kMicroCols + k0 * kMicroCols;
      const int64_t col0 = q * kMicroCols;
      const int64_t colCount = smaller(kMicroCols, cols - col0);
      for (int64_t p = 0; p < rowPanels; ++p) {
        const float* aPanel = a + p * depth * kMicroRows + k0 * kMicroRows;
        const int64_t row0 = p * kMicroRows;
        const int64_t rowCount = smaller(kMicroRows, rows - row0);
        float* out = c + row0 * ldc + col0;
        if (rowCount == kMicroRows && colCount == kMicroCols) {
          if (add) microKernel<true>(kLength, aPanel, bPanel, out, ldc);
          else microKernel<false>(kLength, aPanel, bPanel, out, ldc);
        } else {
          microKernel<false>(kLength, aPanel, bPanel, edge, kMicroCols);
          for (int64_t r = 0; r < rowCount; ++r)
            for (int64_t j = 0; j < colCount; ++j)
              out[r * ldc + j] = (add ? out[r * ldc + j] : 0.0f) + edge[r * kMicroCols + j];
        }
      }
    }
    if (depth == 0) break;
  }
}

// Σ exp(v − max) as (terms below the max, summed in fp32) + (how many equal it, exactly 1 each).
void tileLogSumExp(const LogitTile& tile, float* rowMax, double* rowSum, float* columnMax, double* columnSum) {
  const Vec ones = Simd::set1(1.0f);
  const Vec negativeInfinity = Simd::set1(-__builtin_inff());
  for (int64_t i = 0; i < tile.rows; ++i) {
    const float* s = tile.logits + i * tile.ld;
    Vec m = negativeInfinity;
    for (int64_t j = 0; j < tile.ld; j += kWidth)
      m = Simd::max(m, Simd::add(Simd::load(s + j), Simd::load(tile.columnMask + j)));
    const float rowMaximum = Simd::reduceMax(m);
    const Vec shift = Simd::set1(rowMaximum);
    Vec below = Simd::zero(), countBelow = Simd::zero();
    for (int64_t j = 0; j < tile.ld; j += kWidth) {
      const Vec v = Simd::add(Simd::load(s + j), Simd::load(tile.columnMask + j));
      below = Simd::addIfBelow(below, Simd::exp(Simd::sub(v, shift)), v, shift);
      countBelow = Simd::addIfBelow(countBelow, ones, v, shift);
    }
    rowMax[i] = rowMaximum;
    rowSum[i] = static_cast<double>(tile.ld - Simd::reduceAdd(countBelow)) + Simd::reduceAdd(below);
  }
  // Columns a vector at a time down the tile: each step reads one cache line of a row, and the tile
  // (a few tens of KiB) stays in L1/L2.
  alignas(64) float laneBelow[kWidth], laneCount[kWidth];
  for (int64_t j = 0; j < tile.ld; j += kWidth) {
    Vec m = negativeInfinity;
    for (int64_t i = 0; i < tile.rows; ++i) m = Simd::max(m, Simd::load(tile.logits + i * tile.ld + j));
    Vec below = Simd::zero(), countBelow = Simd::zero();
    for (int64_t i = 0; i < tile.rows; ++i) {
      const Vec v = Simd::load(tile.logits + i * tile.ld + j);
      below = Simd::addIfBelow(below, Simd::exp(Simd::sub(v, m)), v, m);
      countBelow = Simd::addIfBelow(countBelow, ones, v, m);
    }
    Simd::store(columnMax + j, m);
    Simd::store(laneBelow, below);
    Simd::store(laneCount, countBelow);
    for (int l = 0; l < kWidth; ++l)
      columnSum[j + l] = static_cast<double>(tile.rows - laneCount[l]) + laneBelow[l];
  }
}

TileGradientSums tileGradient(const LogitTile& tile, const float* rowMax, const float* rowLogSum,
                              const float* columnMax, const float* columnLogSum, const float* columnWeight,
                              float rowWeight, float scale, bool withColumns) {
  const Vec rowWeights = Simd::set1(rowWeight);
  const Vec scales = Simd::set1(scale);
  double total = 0;
  Vec largest = Simd::zero();
  for (int64_t i = 0; i < tile.rows; ++i) {
    float* s = tile.logits + i * tile.ld;
    const Vec shift = Simd::set1(rowMax[i]);
    const Vec logSum = Simd::set1(rowLogSum[i]);
    Vec dotWithLogits = Simd::zero();
    for (int64_t j = 0; j < tile.ld; j += kWidth) {
      const Vec logits = Simd::load(s + j);
      const Vec centred = Simd::sub(Simd::add(logits, Simd::load(tile.columnMask + j)), shift);
      Vec g = Simd::mul(rowWeights, Simd::exp(Simd::sub(centred, logSum)));
      if (withColumns) {
        const Vec columnCentred = Simd::sub(logits, Simd::load(columnMax + j));
        const Vec q = Simd::exp(Simd::sub(columnCentred, Simd::load(columnLogSum + j)));
        g = Simd::fmadd(Simd::load(columnWeight + j), q, g);
      }
      dotWithLogits = Simd::fmadd(g, logits, dotWithLogits);
      largest = Simd::max(largest, g);  // G ≥ 0 off the positives (which the caller handles)
      Simd::store(s + j, Simd::mul(g, scales));
    }
    total += Simd::reduceAdd(dotWithLogits);
  }
  return {total, Simd::reduceMax(largest)};
}

}  // namespace

const TileKernels& tileKernels() {
  static const TileKernels table = {
      Simd::name,
      kMicroRows,
      kMicroCols,
      {"fp32", &packAcrossDepth<false>, &packAlongDepth<false>, &multiplyPacked},
      {"bf16 (rounded operands, fp32 products)", &packAcrossDepth<true>, &packAlongDepth<true>, &multiplyPacked},
      &tileLogSumExp,
      &tileGradient,
  };
  return table;
}
