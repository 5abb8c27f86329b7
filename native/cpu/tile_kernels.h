// The per-ISA building blocks of the fused loss: packing, a register-blocked matrix product of packed
// panels, and the two element-wise tile passes. One implementation (tile_kernels.inl) is compiled
// once per instruction set (kernels_avx512.cpp, kernels_avx2.cpp, kernels_portable.cpp) and chosen at
// run time from the CPU's features; fused_loss.cpp only sees this table.
#pragma once

#include <cstdint>

#include "infonce.h"

namespace infonce::cpu {

// A tile of logits S (row-major, `ld` floats a row, ld a multiple of the micro-tile width). Columns
// [cols, ld) are padding: their values are finite and columnMask is -inf there (0 elsewhere).
struct LogitTile {
  float* logits;
  int64_t ld;
  int64_t rows;
  int64_t cols;
  const float* columnMask;
};

// How the operands of the three products (S = U·Vᵀ, dU = G·V, dV = Gᵀ·U) are packed and multiplied,
// for one operand precision. Accumulation is fp32 in every family.
struct ProductKernels {
  const char* name;  // "fp32", "bf16" (AVX512-BF16 dot products), "bf16 (rounded, fp32 products)"
  // Panels across the depth (for a product over a row's entries): element (panel p, depth k, lane r) =
  // src[(p·width + r)·ld + k] · scale · rowScale[p·width + r]; rows ≥ `rows` are zero. rowScale may be null.
  void (*packAcrossDepth)(const float* src, int64_t ld, int64_t rows, int64_t depth, const float* rowScale,
                          float scale, int width, float* dst);
  // Panels along the depth (for a product over rows): element (panel q, depth k, lane c) =
  // src[k·ld + q·width + c] · rowScale[k]; columns ≥ `cols` are zero. rowScale may be null.
  void (*packAlongDepth)(const float* src, int64_t ld, int64_t depth, int64_t cols, const float* rowScale,
                         int width, float* dst);
  // C[rows×cols] = (accumulate ? C : 0) + A·B, A packed in microRows panels and B in microCols panels,
  // both over `depth`. Only the rows×cols block of C is touched.
  void (*multiplyPacked)(const float* a, const float* b, int64_t rows, int64_t cols, int64_t depth, float* c,
                         int64_t ldc, bool accumulate);
};

struct TileGradientSums {
  double logitDot;  // Σ G·S over the tile
  float largest;    // max |G| over the tile
};

struct TileKernels {
  const char* isa;
  int microRows;  // rows of a micro-tile: panels of A are this wide
  int microCols;  // columns of a micro-tile: panels of B are this wide
  ProductKernels fp32;
  ProductKernels bf16;
  // Pass 1: each row's max and Σ exp(S − max) over the tile (rows entries), and the same for each
  // column (ld entries; padding columns are computed but meaningless). The sums are exact for the
  // terms equal to the max (counted, not added in fp32): when a positive dominates its row, the sum
  // is 1 + ε, and ε (the whole loss) must not drown in the rounding of the 1.
  void (*tileLogSumExp)(const LogitTile& tile, float* rowMax, double* rowSum, float* columnMax, double* columnSum);
  // Pass 2: overwrites S with scale·G where G = rowWeight·P + columnWeight·Q (the column term only if
  // withColumns), P = exp(S − rowMax − rowLogSum), Q = exp(S − columnMax − columnLogSum), and returns
  // Σ G·S and max |G| over the tile. The log-sum-exp comes split in two (max and log Σ) because
  // S − max is exact in fp32 near the max, while S − lse would lose the last digits of a P close to 1.
  // The positives are the caller's (they need expm1): it masks them with a large negative S (G = 0).
  TileGradientSums (*tileGradient)(const LogitTile& tile, const float* rowMax, const float* rowLogSum,
                                   const float* columnMax, const float* columnLogSum, const float* columnWeight,
                                   float rowWeight, float scale, bool withColumns);
};

namespace avx512 { const TileKernels& tileKernels(); }
namespace avx512bf16 { const ProductKernels& bf16Products(); }
namespace avx2 { const TileKernels& tileKernels(); }
namespace portable { const TileKernels& tileKernels(); }

// The table for `isa` (Auto: the best this CPU supports), with the native bf16 products where the
// CPU has AVX512-BF16. Throws Error if the CPU lacks the ISA.
const TileKernels& selectTileKernels(CpuIsa isa);

}  // namespace infonce::cpu
