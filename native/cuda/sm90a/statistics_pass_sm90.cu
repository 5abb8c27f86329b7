// Pass 1 on sm_90a (H100/H200): the statistics kernel of statistics_pass.cu (each row's and each
// column's running max and Σ exp(S − max), the positives, group masking) on the main loop of
// panel_gemm_sm90.cuh, with the same launch plan (launch_plan.h: a block owns a row range and, per
// launch, a column range, one writer per row and column) and the same merge order within a tile.
// One pipeline serves all the tiles of a block, so its producer loads the next tile while the
// consumers reduce the last one.
//
// The epilogue in the wgmma layout: a warp holds 16 rows × all 128 columns of the tile, so a row's
// tile max and sum need only the quad's shuffles and have one writer (the quad's first lane); a
// column is spread over the 8 warps of the two consumers (16 rows each), so its partials go through
// shared memory, merged in warp order, as the sm_80 kernel does. A warp whose 16 × 128 part allows it
// takes one exponential per logit (epilogue_math.h), the others two, as statistics_pass.cu's panel
// instantiation does for its 64 × 32 parts; statistics_emulation.cpp runs both on the host.
//
// Built for sm_90a alone; used with the panel kernels of panel_gradients_sm90.cu (INFONCE_CUDA_WGMMA=1
// on a 9.0 GPU, gpuSchedule 'panels'), in development until a GPU run has checked it.
#include <stdexcept>
#include <string>

#include "epilogue_math.h"      // oneExponentialFits, mergeTilePartials
#include "gradient_epilogue.h"  // maskedByGroups, kMaskedLogit
#include "tiles/logit_tile.cuh"
#include "loss_params.cuh"
#include "sm90a/panel_gemm_sm90.cuh"
#include "sm90a/panel_gradients_sm90.h"
#include "sm90a/panel_launch.h"
#include "sm90a/tensor_maps.h"

namespace infonce::cuda {
namespace {

using sm90::KMajor;
#ifdef INFONCE_SM90A
using sm90::consumerBarrier;
#endif

constexpr int kConsumerWarps = 4 * sm90::kConsumers;  // 8 warps of 16 rows each
constexpr int kPartialFloats = kConsumerWarps * sm90::kTile;
// The pipeline, then the column partials (max, Σ below the max, ties, the shift of Σ), 8 warps × 128
// columns each.
constexpr int kStatisticsSharedBytes = sm90::kSharedBytes + 4 * kPartialFloats * int(sizeof(float));
static_assert(kStatisticsSharedBytes <= 232448 - 1024, "one block must fit an H100's 227 KiB of shared memory a block");

#ifdef INFONCE_SM90A
// A column's partial over this warp's 16 rows: summed over the 8 g-lanes, written by `writer` (g = 0).
__device__ __forceinline__ void storeColumnPartial(float below, float ties, float shift, bool writer, int at, float* sum,
                                                   float* tiesOut, float* shiftOut) {
  for (int mask = 4; mask <= 16; mask <<= 1) {
    below += __shfl_xor_sync(0xffffffffu, below, mask);
    ties += __shfl_xor_sync(0xffffffffu, ties, mask);
  }
  if (writer) {
    sum[at] = below;
    tiesOut[at] = ties;
    shiftOut[at] = shift;
  }
}

// A row's tile sums (below its tile max, and its ties), summed over the quad and merged by `writer`
// (t = 0) into the row's running state.
__device__ __forceinline__ void mergeRowOfQuad(float below, float ties, float rowMax, bool writer, float& runningMax,
                                               double& runningSum) {
  for (int mask = 1; mask <= 2; mask <<= 1) {
    below += __shfl_xor_sync(0xffffffffu, below, mask);
    ties += __shfl_xor_sync(0xffffffffu, ties, mask);
  }
  if (writer) mergeLogSumExp(runningMax, runningSum, rowMax, double(ties) + double(below));
}
#endif

template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90StatisticsKernel(LossParams<T> p, const __grid_constant__ CUtensorMap uRows, const __grid_constant__ CUtensorMap vRows,
                         int launch) {
#ifdef INFONCE_SM90A
  extern __shared__ __align__(1024) unsigned char shared[];
  const LaunchPlan& plan = p.plan;
  const int block = blockIdx.x;
  if (plan.stepOf(launch, block) >= plan.ranges) return;  // the last launch may have idle replicas (whole blocks)
  sm90::Pipeline pipeline = sm90::startPipeline(shared);
  float* partialMax = reinterpret_cast<float*>(shared + sm90::kSharedBytes);  // [warp][column]
  float* partialSum = partialMax + kPartialFloats;
  float* partialTies = partialSum + kPartialFloats;
  float* partialShift = partialTies + kPartialFloats;
  const BlockStatistics owned = blockStatistics(p, launch, block);

  for (int64_t I = plan.rowTileBegin(owned.rowRange); I < plan.rowTileBegin(owned.rowRange + 1); ++I)
    for (int64_t J = plan.colTileBegin(owned.colRange); J < plan.colTileBegin(owned.colRange + 1); ++J) {
      const int64_t row0 = I * sm90::kTile, col0 = J * sm90::kTile;
      float acc[sm90::kAccumulators];
      const int consumer = sm90::gemmTile<T, KMajor, KMajor>(acc, pipeline, &uRows, int(row0), 0, &vRows, int(col0), 0,
                                                             int(plan.paddedDim));
      if (consumer < 0) continue;  // the producer: on to the next tile's copies
      const int threadInGroup = threadIdx.x % 128, warp = threadInGroup / 32, lane = threadIdx.x % 32;
      const int g = lane / 4, t = lane % 4;
      const int warpIndex = 4 * consumer + warp;  // 0..7, rows 16·warpIndex.. of the tile
      // This thread's rows (half h: +8) and columns (group c of 8, q: +1): e = 4c + 2h + q, column
      // 8c + 2t + q of the tile. Column tests compare 32-bit tile offsets against the constants 8c + q.
      const int colsLeft = (p.cols - col0 < sm90::kTile ? int(p.cols - col0) : sm90::kTile) - 2 * t;  // 8c + q valid below this
      int64_t i[2];
      bool rowValid[2];
      int targetAt[2];  // the target's tile column − 2t: 8c + q matches it; far outside when not in this tile
      int32_t rowGroup[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        i[h] = row0 + 16 * warpIndex + g + 8 * h;
        rowValid[h] = i[h] < p.rows;
        const int64_t target = rowValid[h] ? p.targets[i[h]] - col0 : -(1 << 20);
        targetAt[h] = int(target < -(1 << 20) || target > (1 << 20) ? -(1 << 20) : target) - 2 * t;
        rowGroup[h] = rowValid[h] && p.rowGroups ? p.rowGroups[i[h]] : -1;
      }
#pragma unroll
      for (int e = 0; e < sm90::kAccumulators; ++e) acc[e] *= p.scale;
      // The positives (each in exactly one tile, so one writer).
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int c = 0; c < 16; ++c)
#pragma unroll
          for (int q = 0; q < 2; ++q)
            if (8 * c + q == targetAt[h]) p.positive[i[h]] = acc[4 * c + 2 * h + q];
      if (p.rowGroups)  // false-negative masking, before either direction's max and sum read them
#pragma unroll
        for (int c = 0; c < 16; ++c)
#pragma unroll
          for (int q = 0; q < 2; ++q) {
            const int32_t columnGroup = 8 * c + q < colsLeft ? p.columnGroups[col0 + 8 * c + 2 * t + q] : -1;
#pragma unroll
            for (int h = 0; h < 2; ++h)
              if (maskedByGroups(rowGroup[h], columnGroup, 8 * c + q, targetAt[h])) acc[4 * c + 2 * h + q] = kMaskedLogit;
          }
      // Padding rows and columns: in no max and no sum.
#pragma unroll
      for (int c = 0; c < 16; ++c)
#pragma unroll
        for (int q = 0; q < 2; ++q)
#pragma unroll
          for (int h = 0; h < 2; ++h)
            if (!(rowValid[h] && 8 * c + q < colsLeft)) acc[4 * c + 2 * h + q] = -INFINITY;

      // Rows: the tile max, over the quad's 4 lanes (the whole tile width).
      float rowMax[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = -INFINITY;
#pragma unroll
        for (int c = 0; c < 16; ++c) mx = fmaxf(mx, fmaxf(acc[4 * c + 2 * h], acc[4 * c + 2 * h + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        rowMax[h] = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      }
      // Columns: each warp's max over its 16 rows (its 8 g-lanes), for the other warps in shared memory.
      float lowest = INFINITY;  // of this thread's real columns' maxima
#pragma unroll
      for (int c = 0; c < 16; ++c)
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          float mx = fmaxf(acc[4 * c + q], acc[4 * c + 2 + q]);
          for (int mask = 4; mask <= 16; mask <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, mask));
          if (g == 0) partialMax[warpIndex * sm90::kTile + 8 * c + 2 * t + q] = mx;
          if (8 * c + q < colsLeft) lowest = fminf(lowest, mx);
        }
      // One exponential per logit where this warp's 16 rows × 128 columns allow it (epilogue_math.h):
      // K the largest of its rows' maxima, against the lowest of its columns' maxima. Warp-uniform.
      float reference = fmaxf(rowValid[0] ? rowMax[0] : -INFINITY, rowValid[1] ? rowMax[1] : -INFINITY);
      for (int mask = 1; mask < 32; mask <<= 1) {
        reference = fmaxf(reference, __shfl_xor_sync(0xffffffffu, reference, mask));
        lowest = fminf(lowest, __shfl_xor_sync(0xffffffffu, lowest, mask));
      }
      const bool oneExponential = p.oneExponential && oneExponentialFits(reference, lowest);
      consumerBarrier();  // every warp's column maxima are in shared memory

      if (oneExponential) {
        // Columns first: e = exp(S − row max) once per logit; a column's Σ e·exp(row max − K) relative
        // to K, its ties to its max over this warp's rows exact; e stays in acc for the rows (−1 where S
        // is its row's max), whose sums then take no exponential.
        const float rowFactor[2] = {expf(rowMax[0] - reference), expf(rowMax[1] - reference)};
#pragma unroll
        for (int c = 0; c < 16; ++c)
#pragma unroll
          for (int q = 0; q < 2; ++q) {
            const int column = 8 * c + 2 * t + q;
            const float partMax = partialMax[warpIndex * sm90::kTile + column];
            float below = 0.0f, ties = 0.0f;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float s = acc[4 * c + 2 * h + q];
              const bool rowTie = !(s < rowMax[h]);
              const float e = rowTie ? 1.0f : __expf(s - rowMax[h]);
              if (s != -INFINITY) {
                if (s == partMax) ties += 1.0f;
                else below += e * rowFactor[h];
              }
              acc[4 * c + 2 * h + q] = rowTie ? -1.0f : e;
            }
            storeColumnPartial(below, ties, reference, g == 0, warpIndex * sm90::kTile + column, partialSum, partialTies,
                               partialShift);
          }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float below = 0.0f, ties = 0.0f;
#pragma unroll
          for (int c = 0; c < 16; ++c)
#pragma unroll
            for (int q = 0; q < 2; ++q) {
              if (!(8 * c + q < colsLeft)) continue;
              const float e = acc[4 * c + 2 * h + q];
              if (e < 0.0f) ties += 1.0f;
              else below += e;
            }
          mergeRowOfQuad(below, ties, rowMax[h], t == 0 && rowValid[h], owned.rowMax[i[h]], owned.rowSum[i[h]]);
        }
      } else {
        // Two exponentials: rows below their tile max; columns below theirs, over all 8 warps.
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float below = 0.0f, ties = 0.0f;
#pragma unroll
          for (int c = 0; c < 16; ++c)
#pragma unroll
            for (int q = 0; q < 2; ++q) {
              const float s = acc[4 * c + 2 * h + q];
              if (s == -INFINITY) continue;
              if (s < rowMax[h]) below += __expf(s - rowMax[h]);
              else ties += 1.0f;
            }
          mergeRowOfQuad(below, ties, rowMax[h], t == 0 && rowValid[h], owned.rowMax[i[h]], owned.rowSum[i[h]]);
        }
#pragma unroll
        for (int c = 0; c < 16; ++c)
#pragma unroll
          for (int q = 0; q < 2; ++q) {
            const int column = 8 * c + 2 * t + q;
            float tileMax = -INFINITY;
#pragma unroll 1
            for (int w = 0; w < kConsumerWarps; ++w) tileMax = fmaxf(tileMax, partialMax[w * sm90::kTile + column]);
            float below = 0.0f, ties = 0.0f;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float s = acc[4 * c + 2 * h + q];
              if (s == -INFINITY) continue;
              if (s < tileMax) below += __expf(s - tileMax);
              else ties += 1.0f;
            }
            storeColumnPartial(below, ties, tileMax, g == 0, warpIndex * sm90::kTile + column, partialSum, partialTies,
                               partialShift);
          }
      }
      consumerBarrier();
      // One thread per column merges the tile into the running state, the warps in index order, each
      // warp's partial restated at the tile max (epilogue_math.h: mergeTilePartials).
      const int consumerThread = threadIdx.x - 128;
      if (consumerThread < sm90::kTile && col0 + consumerThread < p.cols)
        mergeTilePartials(kConsumerWarps, sm90::kTile, partialMax + consumerThread, partialTies + consumerThread,
                          partialSum + consumerThread, partialShift + consumerThread, owned.colMax[col0 + consumerThread],
                          owned.colSum[col0 + consumerThread]);
      consumerBarrier();  // the partials are rewritten by the next tile
    }
#else
  (void)p, (void)uRows, (void)vRows, (void)launch;
#endif
}

}  // namespace

template <typename T>
cudaError_t launchStatisticsSm90(const LossParams<T>& p, cudaStream_t stream, std::string& error) {
  return launchStatisticsInOrder<T>(p, stream, error, sm90StatisticsKernel<T>, sm90::kThreads, kStatisticsSharedBytes);
}

template cudaError_t launchStatisticsSm90<__nv_bfloat16>(const LossParams<__nv_bfloat16>&, cudaStream_t, std::string&);
template cudaError_t launchStatisticsSm90<__half>(const LossParams<__half>&, cudaStream_t, std::string&);

}  // namespace infonce::cuda
