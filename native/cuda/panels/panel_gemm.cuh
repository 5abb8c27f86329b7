// The main loop of the panel kernels: one 128×128 block tile of C = A·B with 16-bit operands (bf16 or
// fp16) and fp32 accumulators on tensor cores (mma.sync m16n8k16), for sm_80 and newer.
//
// FLOPs per block: 2·128·128·K. Bytes: (128 + 128)·K·2 from global memory (L2-resident across the
// blocks that share a panel), staged in kStages-deep cp.async ring buffers of 32-deep slices, so the
// loads of slices k+1..k+3 overlap the products of slice k.
//
// Operands come in either storage order, and the fragments are loaded with ldmatrix (.trans for the
// transposed orders), never as scalar 16-bit loads:
//   A: KContiguous (a[m·lda + k], U rows and G rows) or MContiguous (a[k·lda + m], Gᵀ read from G);
//   B: KContiguous (b[n·ldb + k], V rows for S = U·Vᵀ) or NContiguous (b[k·ldb + n], V and U for the
//      products G·V and Gᵀ·U).
// Shared rows are padded by 16 bytes: the 8 rows an ldmatrix reads then start in 8 different 16-byte
// bank groups (row strides of 80 and 272 bytes), so the loads are conflict-free.
#pragma once

#include <stdint.h>

#include <type_traits>

#include "tiles/logit_tile.cuh"  // copy16, copyCommit, copyWait
#include "operand_types.cuh"
#include "schedule/panel_plan.h"

namespace infonce::cuda::panel {

constexpr int kTile = int(kPanelTile);        // block tile rows and columns
constexpr int kDepth = int(kPanelDepthStep);  // K per stage
constexpr int kStages = int(kPanelStages);
constexpr int kPad = int(kPanelSharedPad);         // elements: 16 bytes

// How a block's warps split its 128 × 128 tile: WarpRows × WarpCols warps, each a (128 / WarpRows) ×
// (128 / WarpCols) part of m16 × n8 fragments.
template <int WarpRows, int WarpCols>
struct Warps {
  static constexpr int rows = WarpRows, cols = WarpCols, threads = 32 * WarpRows * WarpCols;
  static constexpr int tileRows = kTile / WarpRows, tileCols = kTile / WarpCols;
  static constexpr int fragmentRows = tileRows / 16, fragmentCols = tileCols / 8;
  using Accumulators = float[fragmentRows][fragmentCols][4];
};
// 8 warps of 64 × 32 (64 accumulators a thread): the statistics and G kernels, whose epilogues need
// the registers that 64 × 64 warp tiles would take.
using EightWarps = Warps<2, 4>;
// 4 warps of 64 × 64 (128 accumulators a thread): dU and dV, whose epilogue is a store. A k16 step
// then loads 8 fragments for 32 MMAs a warp instead of 6 for 16: a third less shared-memory traffic
// per MMA, the sm_80 loop's limit.
using FourWarps = Warps<2, 2>;

constexpr int kWarpRows = EightWarps::rows, kWarpCols = EightWarps::cols;
constexpr int kThreads = EightWarps::threads;
constexpr int kWarpTileRows = EightWarps::tileRows, kWarpTileCols = EightWarps::tileCols;
constexpr int kFragmentRows = EightWarps::fragmentRows;  // 4 m16 fragments
constexpr int kFragmentCols = EightWarps::fragmentCols;  // 4 n8 fragments

struct KContiguous {};
struct MContiguous {};
struct NContiguous {};

// Shared-memory footprint (elements) of one stage of an operand in a given order: 128 rows of 32
// (+ pad) when K is contiguous, 32 rows of 128 (+ pad) otherwise.
template <class Layout>
constexpr int stageElements() {
  return int(panelStageElements(std::is_same<Layout, KContiguous>::value));
}
template <class Layout>
constexpr int sharedLd() {
  return std::is_same<Layout, KContiguous>::value ? kDepth + kPad : kTile + kPad;
}
template <class ALayout, class BLayout>
constexpr int gemmSharedBytes() {
  return int(panelSharedBytes(std::is_same<ALayout, KContiguous>::value, std::is_same<BLayout, KContiguous>::value));
}

using Accumulators = EightWarps::Accumulators;

// Where this thread's accumulators sit in the block tile: acc[m][n][2·half + q] is C at
// (row(m, half), col(n, q)), the mma.sync C fragment layout.
template <class W>
struct WarpLanes {
  int warpRow, warpCol, g, t;
  __device__ WarpLanes() {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    warpRow = warp / W::cols;
    warpCol = warp % W::cols;
    g = lane >> 2;
    t = lane & 3;
  }
  __device__ int row(int m, int half) const { return warpRow * W::tileRows + m * 16 + g + 8 * half; }
  __device__ int col(int n, int q) const { return warpCol * W::tileCols + n * 8 + 2 * t + q; }
};
using Lanes = WarpLanes<EightWarps>;

__device__ __forceinline__ void ldmatrix4(uint32_t (&r)[4], const void* shared) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void ldmatrix4Transposed(uint32_t (&r)[4], const void* shared) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// One stage of an operand: 128 × 32 (K contiguous) or 32 × 128 (the other order), by all Threads
// threads, 16-byte cp.async copies (2 or 4 per thread). `global` is the tile's first element of this slice.
template <class Layout, int Threads, typename T>
__device__ __forceinline__ void stageOperand(T* shared, const T* global, int64_t ld) {
  constexpr bool kContiguous = std::is_same<Layout, KContiguous>::value;
  constexpr int rows = kContiguous ? kTile : kDepth, cols = kContiguous ? kDepth : kTile;
  constexpr int vectorsPerRow = cols / 8;
#pragma unroll
  for (int v = threadIdx.x; v < rows * vectorsPerRow; v += Threads) {
    const int r = v / vectorsPerRow, c = (v % vectorsPerRow) * 8;
    copy16(shared + r * sharedLd<Layout>() + c, global + r * ld + c);
  }
}

// A fragment (16 × 16 at rows m0.., depth k0..) in the mma A register order.
template <class Layout, typename T>
__device__ __forceinline__ void loadFragmentA(uint32_t (&a)[4], const T* stage, int m0, int k0) {
  const int lane = threadIdx.x & 31;
  if constexpr (std::is_same<Layout, KContiguous>::value) {
    // matrices 0..3: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
    const int row = m0 + (lane & 7) + ((lane >> 3) & 1) * 8, k = k0 + (lane >> 4) * 8;
    ldmatrix4(a, stage + row * sharedLd<Layout>() + k);
  } else {
    // stored [k][m]: the same four matrices, each read transposed
    const int k = k0 + (lane & 7) + (lane >> 4) * 8, row = m0 + ((lane >> 3) & 1) * 8;
    ldmatrix4Transposed(a, stage + k * sharedLd<Layout>() + row);
  }
}

// Two B fragments (16 deep × 8 columns each, columns n0.. and n0+8..): b[0..1] and b[2..3].
template <class Layout, typename T>
__device__ __forceinline__ void loadFragmentsB(uint32_t (&b)[4], const T* stage, int n0, int k0) {
  const int lane = threadIdx.x & 31;
  if constexpr (std::is_same<Layout, KContiguous>::value) {
    // matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
    const int n = n0 + (lane & 7) + (lane >> 4) * 8, k = k0 + ((lane >> 3) & 1) * 8;
    ldmatrix4(b, stage + n * sharedLd<Layout>() + k);
  } else {
    // stored [k][n]: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15), transposed
    const int k = k0 + (lane & 7) + ((lane >> 3) & 1) * 8, n = n0 + (lane >> 4) * 8;
    ldmatrix4Transposed(b, stage + k * sharedLd<Layout>() + n);
  }
}

// acc = A·B for one block tile over `depthSteps` slices of 32. `a` points at the tile's (m0, k0)
// element and `b` at its (k0, n0) element, each in its own storage order; they advance by 32 along K
// per slice. Ends with every copy complete and a barrier: the caller may reuse `shared`. W: the warps
// (EightWarps unless given).
template <class Op, class ALayout, class BLayout, class W = EightWarps>
__device__ void gemmTile(typename W::Accumulators& acc, const typename Op::Element* a, int64_t lda,
                         const typename Op::Element* b, int64_t ldb, int64_t depthSteps,
                         typename Op::Element* shared) {
  using T = typename Op::Element;
  constexpr bool aK = std::is_same<ALayout, KContiguous>::value;
  constexpr bool bK = std::is_same<BLayout, KContiguous>::value;
  T* aStages = shared;
  T* bStages = shared + kStages * stageElements<ALayout>();
  const WarpLanes<W> at;
#pragma unroll
  for (int m = 0; m < W::fragmentRows; ++m)
#pragma unroll
    for (int n = 0; n < W::fragmentCols; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.0f;

  // Slice k of A starts 32·k along K: k·32 elements on in a row (K contiguous) or 32·k rows down.
  auto load = [&](int64_t slice, int stage) {
    const int64_t k0 = slice * kDepth;
    stageOperand<ALayout, W::threads>(aStages + stage * stageElements<ALayout>(), a + (aK ? k0 : k0 * lda), lda);
    stageOperand<BLayout, W::threads>(bStages + stage * stageElements<BLayout>(), b + (bK ? k0 : k0 * ldb), ldb);
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < depthSteps) load(s, s);
    copyCommit();  // an empty group when there is no slice: keeps the count of groups uniform
  }
  for (int64_t slice = 0; slice < depthSteps; ++slice) {
    copyWait<kStages - 2>();  // slice `slice` has landed (for this thread)...
    __syncthreads();          // ...for all threads, and all are done with slice - 1's stage
    if (slice + kStages - 1 < depthSteps) load(slice + kStages - 1, int((slice + kStages - 1) % kStages));
    copyCommit();
    const int stage = int(slice % kStages);
    const T* as = aStages + stage * stageElements<ALayout>();
    const T* bs = bStages + stage * stageElements<BLayout>();
#pragma unroll
    for (int k = 0; k < kDepth; k += 16) {
      uint32_t fa[W::fragmentRows][4], fb[W::fragmentCols / 2][4];
#pragma unroll
      for (int m = 0; m < W::fragmentRows; ++m) loadFragmentA<ALayout>(fa[m], as, at.warpRow * W::tileRows + m * 16, k);
#pragma unroll
      for (int n = 0; n < W::fragmentCols / 2; ++n)
        loadFragmentsB<BLayout>(fb[n], bs, at.warpCol * W::tileCols + n * 16, k);
#pragma unroll
      for (int m = 0; m < W::fragmentRows; ++m)
#pragma unroll
        for (int n = 0; n < W::fragmentCols; ++n) Op::mma(acc[m][n], fa[m], &fb[n / 2][2 * (n % 2)]);
    }
  }
  copyWait<0>();
  __syncthreads();
}

}  // namespace infonce::cuda::panel
