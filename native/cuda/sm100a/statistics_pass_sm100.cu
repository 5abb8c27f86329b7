// Pass 1 on sm_100a (B200/GB200): the statistics kernel of statistics_pass.cu (each row's and each
// column's running max and Σ exp(S − max), the positives, group masking) on the main loop of
// panel_gemm_sm100.cuh, with the same launch plan (launch_plan.h: a block owns a row range and, per
// launch, a column range, one writer per row and column) and the same merges. One pipeline serves
// all the tiles of a block, and its accumulators are double-buffered in TMEM, so the MMAs of the
// next tile run while the epilogue reduces this one.
//
// The epilogue in the tcgen05 layout: an epilogue thread holds one row of the tile and 64 adjacent
// columns (warp w: rows 32·(w % 4) + lane, columns 64·(w / 4)..). A row's sums are the thread's own;
// a column's, over the warp's 32 rows, come from a butterfly that halves each lane's list of 32 at
// each of 5 shuffle steps (31 shuffles a 32 columns) and leaves lane L with column L; the four warps
// that share columns, and the two halves of each row, meet in shared memory, merged in a fixed order
// (epilogue_math.h: mergeTilePartials). A warp whose 32 × 64 part allows it takes one exponential
// per logit (epilogue_math.h), the others two, as the sm_80 and sm_90a kernels do for their parts;
// statistics_emulation.cpp runs both on the host with this part shape.
//
// Built for sm_100a alone; used with the panel kernels of panel_gradients_sm100.cu
// (INFONCE_CUDA_TCGEN05=1 on a 10.0 GPU, gpuSchedule 'panels'), in development until a GPU run has
// checked it.
#include <stdexcept>
#include <string>

#include "epilogue_math.h"      // oneExponentialFits, mergeTilePartials
#include "gradient_epilogue.h"  // maskedByGroups, kMaskedLogit
#include "loss_params.cuh"
#include "sm100a/panel_gemm_sm100.cuh"
#include "sm100a/panel_gradients_sm100.h"
#include "sm90a/panel_launch.h"
#include "sm90a/tensor_maps.h"

namespace infonce::cuda {
namespace {

using sm100::KMajor;

constexpr int kQuarters = 4;  // warps sharing a column (32 rows each)
constexpr int kHalves = 2;    // warps sharing a row (64 columns each)
// The pipeline, then the column partials (max, Σ, ties, shift; 4 quarters × 128 columns) and the
// row partials (max, Σ, ties; 2 halves × 128 rows).
constexpr int kColumnPartials = kQuarters * sm100::kTile, kRowPartials = kHalves * sm100::kTile;
constexpr int kStatisticsSharedBytes = sm100::kSharedBytes + (4 * kColumnPartials + 3 * kRowPartials) * int(sizeof(float));
static_assert(kStatisticsSharedBytes <= 232448 - 1024, "one block must fit a B200's 227 KiB of shared memory a block");

#ifdef INFONCE_SM100A
// The 256 epilogue threads alone (the producer and MMA warps are on the next tile): named barrier 1.
__device__ __forceinline__ void epilogueBarrier() {
  asm volatile("bar.sync 1, %0;\n" ::"n"(32 * sm100::kEpilogueWarps) : "memory");
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// Reduces 32 values a lane over the warp's 32 lanes, value k of every lane with value k of the
// others, by a butterfly that halves each lane's list at each of 5 shuffle steps (31 shuffles, where
// reducing each value over the lanes would take 160); lane L is left with the result for k = L. `v`
// is consumed.
constexpr int kChunk = 32;  // of a thread's 64 columns at a time: lane L owns columns L and 32 + L
template <class Op>
__device__ __forceinline__ float reduceAcrossLanes(float (&v)[kChunk], Op op) {
  const int lane = int(threadIdx.x % 32);
#pragma unroll
  for (int step = 0; step < 5; ++step) {
    const int mask = 16 >> step, half = (kChunk >> step) / 2;
    const bool upper = (lane & mask) != 0;  // keeps the upper half of its list, sends the lower
#pragma unroll
    for (int k = 0; k < half; ++k) {
      const float send = upper ? v[k] : v[k + half];
      const float keep = upper ? v[k + half] : v[k];
      v[k] = op(keep, __shfl_xor_sync(0xffffffffu, send, mask));
    }
  }
  return v[0];
}

// How many lanes of the warp have `tie` set, kept by the lane that owns column k.
__device__ __forceinline__ void countTies(bool tie, int k, float (&ties)[2]) {
  const int count = __popc(__ballot_sync(0xffffffffu, tie));
  if (k % kChunk == int(threadIdx.x % 32)) ties[k / kChunk] = float(count);
}
#endif

template <typename T>
__global__ void __launch_bounds__(sm100::kThreads, 1)
    sm100StatisticsKernel(LossParams<T> p, const __grid_constant__ CUtensorMap uRows, const __grid_constant__ CUtensorMap vRows,
                          int launch) {
#ifdef INFONCE_SM100A
  extern __shared__ __align__(1024) unsigned char shared[];
  const LaunchPlan& plan = p.plan;
  const int block = blockIdx.x;
  if (plan.stepOf(launch, block) >= plan.ranges) return;  // the last launch may have idle replicas (whole blocks)
  sm100::Pipeline pipeline = sm100::startPipeline(shared);
  float* columnMax = reinterpret_cast<float*>(shared + sm100::kSharedBytes);  // [quarter][column]
  float* columnSum = columnMax + kColumnPartials;
  float* columnTies = columnSum + kColumnPartials;
  float* columnShift = columnTies + kColumnPartials;
  float* rowMaxOfHalf = columnShift + kColumnPartials;  // [half][row]
  float* rowSumOfHalf = rowMaxOfHalf + kRowPartials;
  float* rowTiesOfHalf = rowSumOfHalf + kRowPartials;
  const BlockStatistics owned = blockStatistics(p, launch, block);

  for (int64_t I = plan.rowTileBegin(owned.rowRange); I < plan.rowTileBegin(owned.rowRange + 1); ++I)
    for (int64_t J = plan.colTileBegin(owned.colRange); J < plan.colTileBegin(owned.colRange + 1); ++J) {
      const int64_t row0 = I * sm100::kTile, col0 = J * sm100::kTile;
      float acc[sm100::kAccumulators];
      const int warp = sm100::gemmTile<T, KMajor, KMajor>(acc, pipeline, &uRows, int(row0), 0, &vRows, int(col0), 0,
                                                          int(plan.paddedDim));
      if (warp < 0) continue;  // the producer and MMA warps: on to the next tile
      const int lane = int(threadIdx.x % 32), quarter = warp % kQuarters, half = warp / kQuarters;
      const sm100::EpilogueLanes at(warp);
      const int64_t i = row0 + at.row;
      const bool rowValid = i < p.rows;
      const int firstColumn = at.col0;  // of this thread's 64, in the tile
      const int colsLeft = (p.cols - col0 < sm100::kTile ? int(p.cols - col0) : sm100::kTile) - firstColumn;  // k valid below
      const int target = rowValid ? int(p.targets[i] - col0) - firstColumn : -1;  // k of the positive, if here
      const int32_t rowGroup = rowValid && p.rowGroups ? p.rowGroups[i] : -1;
#pragma unroll
      for (int k = 0; k < sm100::kAccumulators; ++k) {
        acc[k] *= p.scale;
        if (k == target) p.positive[i] = acc[k];  // each positive in exactly one tile: one writer
        if (p.rowGroups && k < colsLeft &&
            maskedByGroups(rowGroup, p.columnGroups[col0 + firstColumn + k], k, target))
          acc[k] = kMaskedLogit;  // before either direction's max and sum read it
        if (!(rowValid && k < colsLeft)) acc[k] = -INFINITY;  // padding: in no max and no sum
      }

      // The row's max over this thread's 64 columns; each column's over the warp's 32 rows.
      float rowMax = -INFINITY;
#pragma unroll
      for (int k = 0; k < sm100::kAccumulators; ++k) rowMax = fmaxf(rowMax, acc[k]);
      rowMaxOfHalf[half * sm100::kTile + at.row] = rowMax;
      float lowest = INFINITY;  // of the warp's real columns' maxima
#pragma unroll
      for (int chunk = 0; chunk < 2; ++chunk) {
        float scratch[kChunk];
#pragma unroll
        for (int k = 0; k < kChunk; ++k) scratch[k] = acc[kChunk * chunk + k];
        const float mx = reduceAcrossLanes(scratch, Max{});  // column kChunk·chunk + lane, over the warp's rows
        columnMax[quarter * sm100::kTile + firstColumn + kChunk * chunk + lane] = mx;
        if (kChunk * chunk + lane < colsLeft) lowest = fminf(lowest, mx);
      }
      epilogueBarrier();  // both halves' row maxima and every warp's column maxima are in shared memory
      rowMax = fmaxf(rowMaxOfHalf[at.row], rowMaxOfHalf[sm100::kTile + at.row]);  // the tile's
      // One exponential per logit where this warp's 32 × 64 part allows it: K the largest of its rows'
      // tile maxima, against the lowest of its columns' maxima over its rows. Warp-uniform.
      float reference = rowValid ? rowMax : -INFINITY;
      for (int mask = 1; mask < 32; mask <<= 1) {
        reference = fmaxf(reference, __shfl_xor_sync(0xffffffffu, reference, mask));
        lowest = fminf(lowest, __shfl_xor_sync(0xffffffffu, lowest, mask));
      }
      const bool oneExponential = p.oneExponential && oneExponentialFits(reference, lowest);

      // Each logit's row term into the row's sums, its column term (relative to the column's shift)
      // into the column's, 32 columns at a time; the ties to a line's max counted exactly.
      float rowBelow = 0.0f, rowTies = 0.0f;
      const float rowFactor = oneExponential ? expf(rowMax - reference) : 0.0f;
#pragma unroll
      for (int chunk = 0; chunk < 2; ++chunk) {
        float scratch[kChunk], columnTiesOfWarp[2] = {0.0f, 0.0f}, shift = reference;
#pragma unroll
        for (int kk = 0; kk < kChunk; ++kk) {
          const int k = kChunk * chunk + kk, column = firstColumn + k;
          const float s = acc[k];
          const bool real = s != -INFINITY;
          bool columnTie;
          if (oneExponential) {
            // e = exp(S − row max) once: the row's term, and times exp(row max − K) the column's,
            // relative to K; the column's ties to its max over this warp's rows.
            const bool rowTie = !(s < rowMax);
            const float e = rowTie ? 1.0f : __expf(s - rowMax);
            if (real) {
              if (rowTie) rowTies += 1.0f;
              else rowBelow += e;
            }
            columnTie = real && s == columnMax[quarter * sm100::kTile + column];
            scratch[kk] = real && !columnTie ? e * rowFactor : 0.0f;
          } else {
            // Two exponentials: each line's terms below its tile max (a column's over the four warps
            // that share it).
            float tileMax = -INFINITY;
#pragma unroll
            for (int q = 0; q < kQuarters; ++q) tileMax = fmaxf(tileMax, columnMax[q * sm100::kTile + column]);
            if (real) {
              if (s < rowMax) rowBelow += __expf(s - rowMax);
              else rowTies += 1.0f;
            }
            columnTie = real && !(s < tileMax);
            scratch[kk] = real && !columnTie ? __expf(s - tileMax) : 0.0f;
            if (kk == lane) shift = tileMax;
          }
          countTies(columnTie, k, columnTiesOfWarp);
        }
        const float columnBelow = reduceAcrossLanes(scratch, Sum{});
        const int at0 = quarter * sm100::kTile + firstColumn + kChunk * chunk + lane;
        columnSum[at0] = columnBelow;
        columnTies[at0] = columnTiesOfWarp[chunk];
        columnShift[at0] = shift;
      }
      rowSumOfHalf[half * sm100::kTile + at.row] = rowBelow;
      rowTiesOfHalf[half * sm100::kTile + at.row] = rowTies;
      epilogueBarrier();
      // One thread per column (warps 0–3) and per row (warps 4–7) merges the tile into its running
      // state, the parts in a fixed order (epilogue_math.h: mergeTilePartials).
      const int line = int(threadIdx.x) % sm100::kTile;
      if (threadIdx.x < sm100::kTile) {
        if (col0 + line < p.cols)
          mergeTilePartials(kQuarters, sm100::kTile, columnMax + line, columnTies + line, columnSum + line,
                            columnShift + line, owned.colMax[col0 + line], owned.colSum[col0 + line]);
      } else if (row0 + line < p.rows) {
        mergeTilePartials(kHalves, sm100::kTile, rowMaxOfHalf + line, rowTiesOfHalf + line, rowSumOfHalf + line, nullptr,
                          owned.rowMax[row0 + line], owned.rowSum[row0 + line]);
      }
      epilogueBarrier();  // the partials are rewritten by the next tile
    }
  sm100::finishPipeline(pipeline);
#else
  (void)p, (void)uRows, (void)vRows, (void)launch;
#endif
}

}  // namespace

template <typename T>
cudaError_t launchStatisticsSm100(const LossParams<T>& p, cudaStream_t stream, std::string& error) {
  return launchStatisticsInOrder<T>(p, stream, error, sm100StatisticsKernel<T>, sm100::kThreads, kStatisticsSharedBytes);
}

template cudaError_t launchStatisticsSm100<__nv_bfloat16>(const LossParams<__nv_bfloat16>&, cudaStream_t, std::string&);
template cudaError_t launchStatisticsSm100<__half>(const LossParams<__half>&, cudaStream_t, std::string&);

}  // namespace infonce::cuda
