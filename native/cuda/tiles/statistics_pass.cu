// Pass 1: every tile of S once; from it, each row's and each column's running max and Σ exp(S − max)
// (both directions from the same tile), and the positives' logits.
//
// FLOPs: 2·M·N·D (tensor cores) + ~2 exp per logit (the panel loop's tiles: ~1 where a warp's part
// allows it, epilogue_math.h). Bytes: the staged panels of U and V; the
// statistics are O(M + N) read-modify-writes per tile row/column, exclusive by the plan.
#include <type_traits>

#include "epilogue_math.h"      // oneExponentialFits, mergeTilePartials
#include "gradient_epilogue.h"  // maskedByGroups, kMaskedLogit
#include "tiles/loss_kernels.h"
#include "tiles/logit_tile.cuh"
#include "panels/panel_gemm.cuh"

namespace infonce::cuda {
namespace {

// One direction of the tile's reductions, so that rows and columns run the same code. Rows: a
// thread's lines are its rows (m, half), the values along one are its columns (n, q); the 4 lanes of
// a quad share a row (shuffles over lane bits 0–1) and the warps of a warp row each hold a part of it.
// Columns: the transpose (lane bits 2–4, the warps of a warp column). Line and value indices are
// 2·fragment + half (or q), so acc[m][n][2·half + q] is value(line = 2m + half, k = 2n + q) for rows.
template <class Shape, bool Columns>
struct TileAxis {
  using Geometry = Tile<Shape>;
  static constexpr int FR = Geometry::fragmentRows, FC = Geometry::fragmentCols;
  static constexpr int lines = 2 * (Columns ? FC : FR);  // lines of the tile this thread holds values of
  static constexpr int along = 2 * (Columns ? FR : FC);  // values this thread holds along each
  static constexpr int extent = Columns ? Geometry::BN : Geometry::BM;
  static constexpr int warps = Columns ? Geometry::warpRows : Geometry::warpCols;  // partial results a line
  static constexpr int firstLaneMask = Columns ? 4 : 1, lastLaneMask = Columns ? 16 : 2;

  __device__ static float value(const float (&acc)[FR][FC][4], int line, int k) {
    return Columns ? acc[k / 2][line / 2][2 * (k % 2) + line % 2] : acc[line / 2][k / 2][2 * (line % 2) + k % 2];
  }
  __device__ static float& value(float (&acc)[FR][FC][4], int line, int k) {
    return Columns ? acc[k / 2][line / 2][2 * (k % 2) + line % 2] : acc[line / 2][k / 2][2 * (line % 2) + k % 2];
  }
  __device__ static int position(const ThreadCoordinates<Shape>& at, int line) {
    return Columns ? at.col(line / 2, line % 2) : at.row(line / 2, line % 2);
  }
  // The lane that writes its line's partial result, and which partial it is.
  __device__ static bool writes(const ThreadCoordinates<Shape>& at) { return Columns ? at.g == 0 : at.t == 0; }
  __device__ static int partial(const ThreadCoordinates<Shape>& at) { return Columns ? at.warpRow : at.warpCol; }
};

// Each line's maximum over this warp's part of the tile, into partialMax[warp part][line].
template <class Axis, class Shape>
__device__ __forceinline__ void partialMaxima(const float (&acc)[Axis::FR][Axis::FC][4], const bool (&valid)[Axis::along],
                                              const ThreadCoordinates<Shape>& at, float* partialMax) {
#pragma unroll
  for (int line = 0; line < Axis::lines; ++line) {
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < Axis::along; ++k)
      if (valid[k]) mx = fmaxf(mx, Axis::value(acc, line, k));
#pragma unroll
    for (int mask = Axis::firstLaneMask; mask <= Axis::lastLaneMask; mask <<= 1)
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, mask));
    if (Axis::writes(at)) partialMax[Axis::partial(at) * Axis::extent + Axis::position(at, line)] = mx;
  }
}

// With the line's tile max (over all warp parts), Σ exp(S − max) of this warp's terms below it and
// the count of its ties (exact), into partialSum and partialTies; the shift of the sums (the tile max)
// into partialShift when given.
template <class Axis, class Shape>
__device__ __forceinline__ void partialSums(const float (&acc)[Axis::FR][Axis::FC][4], const bool (&valid)[Axis::along],
                                            const ThreadCoordinates<Shape>& at, const float* partialMax,
                                            float* partialSum, float* partialTies, float* partialShift = nullptr) {
#pragma unroll
  for (int line = 0; line < Axis::lines; ++line) {
    const int position = Axis::position(at, line);
    float tileMax = -INFINITY;
#pragma unroll
    for (int w = 0; w < Axis::warps; ++w) tileMax = fmaxf(tileMax, partialMax[w * Axis::extent + position]);
    float below = 0.0f, ties = 0.0f;
#pragma unroll
    for (int k = 0; k < Axis::along; ++k) {
      const float s = Axis::value(acc, line, k);
      if (!valid[k]) continue;
      if (s < tileMax) below += __expf(s - tileMax);
      else ties += 1.0f;
    }
#pragma unroll
    for (int mask = Axis::firstLaneMask; mask <= Axis::lastLaneMask; mask <<= 1) {
      below += __shfl_xor_sync(0xffffffffu, below, mask);
      ties += __shfl_xor_sync(0xffffffffu, ties, mask);
    }
    if (Axis::writes(at)) {
      partialSum[Axis::partial(at) * Axis::extent + position] = below;
      partialTies[Axis::partial(at) * Axis::extent + position] = ties;
      if (partialShift) partialShift[Axis::partial(at) * Axis::extent + position] = tileMax;
    }
  }
}

// The panel loop's tiles take one exponential per logit where a warp's part allows it (epilogue_math.h).
// This thread's rows' tile maxima (over all warp parts, from shared memory), and whether the warp's
// part fits: K (`reference`) the largest of its rows' maxima, against the lowest max of its columns
// over its rows. Warp-uniform: both are reduced over the whole warp.
template <class Rows, class Columns, class Shape>
__device__ __forceinline__ bool warpFitsOneExponential(const bool (&rowValid)[Rows::lines], const bool (&colValid)[Columns::lines],
                                                       const ThreadCoordinates<Shape>& at, const float* rowPartialMax,
                                                       const float* colPartialMax, float (&rowMax)[Rows::lines],
                                                       float& reference) {
  float high = -INFINITY, low = INFINITY;
#pragma unroll
  for (int line = 0; line < Rows::lines; ++line) {
    rowMax[line] = -INFINITY;
#pragma unroll
    for (int w = 0; w < Rows::warps; ++w)
      rowMax[line] = fmaxf(rowMax[line], rowPartialMax[w * Rows::extent + Rows::position(at, line)]);
    if (rowValid[line]) high = fmaxf(high, rowMax[line]);
  }
#pragma unroll
  for (int line = 0; line < Columns::lines; ++line)
    if (colValid[line]) low = fminf(low, colPartialMax[Columns::partial(at) * Columns::extent + Columns::position(at, line)]);
#pragma unroll
  for (int mask = 1; mask < 32; mask <<= 1) {
    high = fmaxf(high, __shfl_xor_sync(0xffffffffu, high, mask));
    low = fminf(low, __shfl_xor_sync(0xffffffffu, low, mask));
  }
  reference = high;
  return oneExponentialFits(high, low);
}

// The sums of a warp part that fits, columns first: e = exp(S − row max) once per logit; a column's
// Σ e·exp(row max − K) relative to K, its ties to its max over this warp's rows counted exactly; e is
// left in acc for the rows (−1 where S is its row's max: a tie there), whose sums then take no
// exponential. The columns' shift is K.
template <class Rows, class Columns, class Shape>
__device__ __forceinline__ void oneExponentialSums(float (&acc)[Rows::FR][Rows::FC][4], const bool (&rowValid)[Rows::lines],
                                                   const bool (&colValid)[Columns::lines], const ThreadCoordinates<Shape>& at,
                                                   const float (&rowMax)[Rows::lines], float reference,
                                                   const float* colPartialMax, float* colPartialSum, float* colPartialTies,
                                                   float* colPartialShift, float* rowPartialSum, float* rowPartialTies) {
  float rowFactor[Rows::lines];
#pragma unroll
  for (int line = 0; line < Rows::lines; ++line) rowFactor[line] = expf(rowMax[line] - reference);
#pragma unroll
  for (int line = 0; line < Columns::lines; ++line) {
    const int at0 = Columns::partial(at) * Columns::extent + Columns::position(at, line);
    const float partMax = colPartialMax[at0];
    float below = 0.0f, ties = 0.0f;
#pragma unroll
    for (int k = 0; k < Columns::along; ++k) {
      float& value = Columns::value(acc, line, k);
      const float s = value;
      const bool rowTie = !(s < rowMax[k]);
      const float e = rowTie ? 1.0f : __expf(s - rowMax[k]);
      if (rowValid[k]) {
        if (s == partMax) ties += 1.0f;
        else below += e * rowFactor[k];
      }
      value = rowTie ? -1.0f : e;
    }
#pragma unroll
    for (int mask = Columns::firstLaneMask; mask <= Columns::lastLaneMask; mask <<= 1) {
      below += __shfl_xor_sync(0xffffffffu, below, mask);
      ties += __shfl_xor_sync(0xffffffffu, ties, mask);
    }
    if (Columns::writes(at)) {
      colPartialSum[at0] = below;
      colPartialTies[at0] = ties;
      colPartialShift[at0] = reference;
    }
  }
#pragma unroll
  for (int line = 0; line < Rows::lines; ++line) {
    float below = 0.0f, ties = 0.0f;
#pragma unroll
    for (int k = 0; k < Rows::along; ++k) {
      if (!colValid[k]) continue;
      const float e = Rows::value(acc, line, k);
      if (e < 0.0f) ties += 1.0f;
      else below += e;
    }
#pragma unroll
    for (int mask = Rows::firstLaneMask; mask <= Rows::lastLaneMask; mask <<= 1) {
      below += __shfl_xor_sync(0xffffffffu, below, mask);
      ties += __shfl_xor_sync(0xffffffffu, ties, mask);
    }
    if (Rows::writes(at)) {
      rowPartialSum[Rows::partial(at) * Rows::extent + Rows::position(at, line)] = below;
      rowPartialTies[Rows::partial(at) * Rows::extent + Rows::position(at, line)] = ties;
    }
  }
}

// Line `line` of the tile merged into its running max and sum, the warp parts in a fixed order. Each
// part's sum is relative to the tile max already (all parts used the same max).
template <class Axis>
__device__ __forceinline__ void mergeLine(int line, const float* partialMax, const float* partialSum,
                                          const float* partialTies, float& runningMax, double& runningSum) {
  float tileMax = -INFINITY;
  double tileSum = 0;
#pragma unroll
  for (int w = 0; w < Axis::warps; ++w) tileMax = fmaxf(tileMax, partialMax[w * Axis::extent + line]);
#pragma unroll
  for (int w = 0; w < Axis::warps; ++w)
    tileSum += double(partialTies[w * Axis::extent + line]) + double(partialSum[w * Axis::extent + line]);
  mergeLogSumExp(runningMax, runningSum, tileMax, tileSum);
}

// The logits of this thread that the groups mask (gradient_epilogue.h: maskedByGroups) set to
// kMaskedLogit, before either direction's max and sum read them. Padding rows and columns are never
// masked (and never read by the reductions).
template <class Rows, class Columns, class Acc, class Params, class Shape>
__device__ __forceinline__ void maskTile(Acc& acc, const Params& p, int64_t row0, int64_t col0,
                                         const bool (&rowValid)[Rows::lines], const bool (&colValid)[Columns::lines],
                                         const ThreadCoordinates<Shape>& at) {
  int32_t columnGroup[Columns::lines];
#pragma unroll
  for (int k = 0; k < Columns::lines; ++k)
    columnGroup[k] = colValid[k] ? p.columnGroups[col0 + Columns::position(at, k)] : -1;
#pragma unroll
  for (int line = 0; line < Rows::lines; ++line) {
    if (!rowValid[line]) continue;
    const int64_t i = row0 + Rows::position(at, line);
    const int32_t group = p.rowGroups[i], target = p.targets[i];
#pragma unroll
    for (int k = 0; k < Rows::along; ++k)
      if (maskedByGroups(group, columnGroup[k], col0 + Columns::position(at, k), target))
        Rows::value(acc, line, k) = kMaskedLogit;
  }
}

// PanelLoop: the tile of S from the panel kernels' main loop (panel_gemm.cuh: ldmatrix, 4-stage
// cp.async) instead of logitTile; for 16-bit operands and the large tiles, whose 8 warps hold the
// same 64×32 accumulator fragments in both loops, so the epilogue below is shared. Experimental
// (gpuSchedule 'panels'), and compiled for sm_80 and newer only, like the panel kernels.
template <class Op, class Shape, bool PanelLoop>
__global__ void __launch_bounds__(Tile<Shape>::threads)
    statisticsKernel(LossParams<typename Op::Element> p, int launch) {
  using T = typename Op::Element;
  using Geometry = Tile<Shape>;
  using Rows = TileAxis<Shape, false>;
  using Columns = TileAxis<Shape, true>;
  constexpr int BM = Geometry::BM, BN = Geometry::BN, FR = Geometry::fragmentRows, FC = Geometry::fragmentCols;
  extern __shared__ __align__(16) unsigned char shared[];
  T* stage = reinterpret_cast<T*>(shared);
  constexpr int stageBytes = PanelLoop ? int(kTermsSharedBytes)
                                       : 2 * (BM + BN) * (Geometry::depthChunk + Op::pad) * int(sizeof(T));
  float* rowPartialMax = reinterpret_cast<float*>(shared + stageBytes);  // [warpCols][BM]
  float* rowPartialSum = rowPartialMax + Geometry::warpCols * BM;
  float* rowPartialTies = rowPartialSum + Geometry::warpCols * BM;
  float* colPartialMax = rowPartialTies + Geometry::warpCols * BM;  // [warpRows][BN]
  float* colPartialSum = colPartialMax + Geometry::warpRows * BN;
  float* colPartialTies = colPartialSum + Geometry::warpRows * BN;
  float* colPartialShift = PanelLoop ? colPartialTies + Geometry::warpRows * BN : nullptr;  // the panel loop's only

  const LaunchPlan& plan = p.plan;
  const int block = blockIdx.x;
  if (plan.stepOf(launch, block) >= plan.ranges) return;  // the last launch may have idle replicas
  const BlockStatistics owned = blockStatistics(p, launch, block);
  const ThreadCoordinates<Shape> at;
  const int64_t paddedDim = plan.paddedDim;

  for (int64_t I = plan.rowTileBegin(owned.rowRange); I < plan.rowTileBegin(owned.rowRange + 1); ++I) {
    for (int64_t J = plan.colTileBegin(owned.colRange); J < plan.colTileBegin(owned.colRange + 1); ++J) {
      const int64_t row0 = I * BM, col0 = J * BN;
      float acc[FR][FC][4];
      if constexpr (PanelLoop) {
        static_assert(Geometry::warpRows == panel::kWarpRows && Geometry::warpCols == panel::kWarpCols && BM == panel::kTile,
                      "the panel loop's accumulators must be laid out as the large tile's");
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // launched on sm_80+ only: older targets get no loop
        panel::gemmTile<Op, panel::KContiguous, panel::KContiguous>(acc, p.u + row0 * paddedDim, paddedDim,
                                                                     p.v + col0 * paddedDim, paddedDim,
                                                                     paddedDim / panel::kDepth, stage);
#endif
      } else {
        logitTile<Op, Shape>(acc, p.u, p.v, paddedDim, row0, col0, stage);
      }
      bool rowValid[Rows::lines], colValid[Columns::lines];
#pragma unroll
      for (int line = 0; line < Rows::lines; ++line) rowValid[line] = row0 + Rows::position(at, line) < p.rows;
#pragma unroll
      for (int line = 0; line < Columns::lines; ++line) colValid[line] = col0 + Columns::position(at, line) < p.cols;
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int n = 0; n < FC; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[m][n][e] *= p.scale;

      // The positives (each in exactly one tile, so one writer).
#pragma unroll
      for (int line = 0; line < Rows::lines; ++line) {
        if (!rowValid[line]) continue;
        const int64_t i = row0 + Rows::position(at, line);
        const int32_t target = p.targets[i];
#pragma unroll
        for (int k = 0; k < Rows::along; ++k)
          if (col0 + Columns::position(at, k) == target) p.positive[i] = Rows::value(acc, line, k);
      }

      // False-negative masking (groups): in the panel schedule only, whose gradient kernel masks too.
      if constexpr (PanelLoop)
        if (p.rowGroups) maskTile<Rows, Columns>(acc, p, row0, col0, rowValid, colValid, at);

      // Each row's and each column's tile max, then the sums below it and the ties.
      partialMaxima<Rows>(acc, colValid, at, rowPartialMax);
      partialMaxima<Columns>(acc, rowValid, at, colPartialMax);
      __syncthreads();
      bool oneExponential = false;
      if constexpr (PanelLoop) {  // the tile schedule (the verified default) keeps two exponentials
        float rowMax[Rows::lines], reference;
        oneExponential = p.oneExponential && warpFitsOneExponential<Rows, Columns>(rowValid, colValid, at, rowPartialMax,
                                                                                   colPartialMax, rowMax, reference);
        if (oneExponential)
          oneExponentialSums<Rows, Columns>(acc, rowValid, colValid, at, rowMax, reference, colPartialMax, colPartialSum,
                                            colPartialTies, colPartialShift, rowPartialSum, rowPartialTies);
      }
      if (!oneExponential) {
        partialSums<Rows>(acc, colValid, at, rowPartialMax, rowPartialSum, rowPartialTies);
        partialSums<Columns>(acc, rowValid, at, colPartialMax, colPartialSum, colPartialTies, colPartialShift);
      }
      __syncthreads();
      // One thread per row and per column merges the tile into the running state.
      if (threadIdx.x < BM && row0 + threadIdx.x < p.rows)
        mergeLine<Rows>(threadIdx.x, rowPartialMax, rowPartialSum, rowPartialTies, owned.rowMax[row0 + threadIdx.x],
                        owned.rowSum[row0 + threadIdx.x]);
      if (threadIdx.x < BN && col0 + threadIdx.x < p.cols) {
        if constexpr (PanelLoop)  // column partials relative to their own shifts (epilogue_math.h)
          mergeTilePartials(Columns::warps, BN, colPartialMax + threadIdx.x, colPartialTies + threadIdx.x,
                            colPartialSum + threadIdx.x, colPartialShift + threadIdx.x, owned.colMax[col0 + threadIdx.x],
                            owned.colSum[col0 + threadIdx.x]);
        else
          mergeLine<Columns>(threadIdx.x, colPartialMax, colPartialSum, colPartialTies, owned.colMax[col0 + threadIdx.x],
                             owned.colSum[col0 + threadIdx.x]);
      }
      // The partial arrays are next written after logitTile's barriers: no barrier needed here.
    }
  }
}

}  // namespace

// The panel loop exists for 16-bit operands and the large tiles only (see statisticsKernel).
template <class Op, class Shape>
constexpr bool kHasPanelLoop = sizeof(typename Op::Element) == 2 && std::is_same<Shape, LargeTiles>::value;

template <class Op, class Shape, bool PanelLoop>
int64_t sharedBytesOf() {
  constexpr int64_t tile = statisticsSharedBytes(Shape::shape, sizeof(typename Op::Element));
  if constexpr (PanelLoop)  // the panel loop's stages, then the same reduction arrays and the columns' shifts
    return kTermsSharedBytes + tile -
           2LL * (Shape::shape.rows + Shape::shape.cols) * (Shape::shape.depthChunk + sharedPad(sizeof(typename Op::Element))) *
               int64_t(sizeof(typename Op::Element)) +
           int64_t(Shape::shape.warpRows) * Shape::shape.cols * int64_t(sizeof(float));
  return tile;
}

template <class Op, class Shape>
cudaError_t launchStatistics(const LossParams<typename Op::Element>& params, int launch, bool panelLoop,
                             cudaStream_t stream) {
  if constexpr (kHasPanelLoop<Op, Shape>)
    if (panelLoop)
      return launchTileKernel<Shape>(statisticsKernel<Op, Shape, true>, sharedBytesOf<Op, Shape, true>(), params, launch,
                                     stream);
  return launchTileKernel<Shape>(statisticsKernel<Op, Shape, false>, sharedBytesOf<Op, Shape, false>(), params, launch,
                                 stream);
}

template <class Op, class Shape>
cudaError_t statisticsOccupancy(bool panelLoop, int* blocksPerMultiprocessor) {
  if constexpr (kHasPanelLoop<Op, Shape>)
    if (panelLoop)
      return tileKernelOccupancy<Shape>(statisticsKernel<Op, Shape, true>, sharedBytesOf<Op, Shape, true>(),
                                        blocksPerMultiprocessor);
  return tileKernelOccupancy<Shape>(statisticsKernel<Op, Shape, false>, sharedBytesOf<Op, Shape, false>(),
                                    blocksPerMultiprocessor);
}

#define INFONCE_INSTANTIATE(Op, Shape)                                                                         \
  template cudaError_t launchStatistics<Op, Shape>(const LossParams<Op::Element>&, int, bool, cudaStream_t); \
  template cudaError_t statisticsOccupancy<Op, Shape>(bool, int*);
INFONCE_FOR_EACH_KERNEL(INFONCE_INSTANTIATE)
#undef INFONCE_INSTANTIATE

}  // namespace infonce::cuda
