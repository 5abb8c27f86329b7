// The panel gradient pass's three GEMM kernels on sm_90a (H100/H200): the main loop of
// panel_gemm_sm90.cuh (TMA + mbarriers + wgmma, a producer warpgroup and two consumers) with the
// epilogues of panel_gradients.cu, on the same plan (panel_plan.h), buffers and output offsets:
//   (B) sm90TermsKernel:       S_panel = U_panel·Vᵀ (K-major, K-major), then G and Σ G·S per block
//                              (one exponential per logit where the block allows it: term_factors.cuh);
//   (C) sm90RowGradientKernel: dU_panel = s·G·V (K-major, MN-major), one split of N a block;
//   (D) sm90ColumnGradientKernel: dV += s·Gᵀ·U_panel (MN-major, MN-major), one writer per block.
// The split sums are the sm_80 pass's (launchSumSplits); the statistics, statistics_pass_sm90.cu. Each
// kernel is persistent (panel_launch.h launches one block an SM over the launch's tiles): one
// pipeline a block, so its producer loads the next tile's stages during this tile's epilogue.
//
// Compiled for sm_90a alone (CMakeLists.txt: its own object library), and chosen only when the
// panel schedule runs on a GPU of compute capability 9.0 and INFONCE_CUDA_WGMMA=1: in development,
// until bench/gpu-check.sh has passed dev/wgmma_check.cu and these kernels against the reference.
#include <stdexcept>
#include <string>

#include "gradient_epilogue.h"
#include "tiles/logit_tile.cuh"  // blockSumInOrder
#include "operand_types.cuh"
#include "sm90a/panel_gemm_sm90.cuh"
#include "sm90a/panel_gradients_sm90.h"
#include "sm90a/panel_launch.h"
#include "sm90a/tensor_maps.h"
#include "panels/term_factors.cuh"

namespace infonce::cuda {
namespace {

using sm90::KMajor;
using sm90::MNMajor;

#ifdef INFONCE_SM90A  // the device code below exists for sm_90a only
// Which of a consumer thread's 64 accumulators sit where (sm90::WarpgroupLanes), in block-tile rows.
struct ConsumerLanes {
  sm90::WarpgroupLanes lanes;
  int rowBase;  // 64 · consumer
  __device__ ConsumerLanes(int consumer) : lanes(threadIdx.x % 128), rowBase(64 * consumer) {}
  __device__ int row(int e) const { return rowBase + lanes.row(e); }
  __device__ int col(int e) const { return lanes.col(e); }
};
#endif


#ifdef INFONCE_SM90A
// Two adjacent elements of T from two floats, as one 32-bit store (operand_types.cuh's packing).
template <typename T>
__device__ __forceinline__ uint32_t packPair(float low, float high) {
  return pack(HalfOperand<T>::fromFloat(low), HalfOperand<T>::fromFloat(high));
}
#endif

#ifdef INFONCE_SM90A
// Kernel B's epilogue for one consumer thread: G of its logits (two rows, 32 columns in 16 groups of
// 2 adjacent ones) into the panel's G, masked logits 0; returns Σ (G/w_r)·S over them. As
// panel_gradients.cu's storeTerms: OneExponential takes the block's factors (term_factors.cuh).
template <typename T, bool OneExponential>
__device__ __forceinline__ float storeTerms(const float (&acc)[sm90::kAccumulators], int consumer, const PanelParams<T>& p,
                                            const GridTile& tile, int64_t row0, int64_t col0, const TermFactors& factors) {
  const PanelPlan& plan = p.plan;
  const ConsumerLanes at(consumer);
  RowStatistics rows[2];
  int32_t rowGroups[2];
  float rowFactor[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    rows[h] = loadRowStatistics(p.loss, row0 + at.row(2 * h), rowGroups[h]);
    rowFactor[h] = OneExponential ? factors.row[at.row(2 * h)] : 0.0f;
  }
  float logScaleSum = 0.0f;
#pragma unroll
  for (int group = 0; group < sm90::kAccumulators / 4; ++group) {
    ColumnStatistics columns[2];  // OneExponential: only `valid`
    float columnFactor[2];
    int32_t columnGroups[2] = {-1, -1};
    int64_t j[2];
#pragma unroll
    for (int q = 0; q < 2; ++q) {  // read here, not kept: 32 columns' statistics would not fit in registers
      j[q] = col0 + at.col(4 * group + q);
      if (OneExponential) {
        columns[q].valid = j[q] < plan.cols;
        columnFactor[q] = factors.column[at.col(4 * group + q)];
      } else {
        columns[q] = loadColumnStatistics(p.loss, j[q]);
        columnFactor[q] = 0.0f;
      }
      if (columns[q].valid && p.loss.columnGroups) columnGroups[q] = p.loss.columnGroups[j[q]];
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float stored[2];
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        const float s = acc[4 * group + 2 * h + q] * p.loss.scale;
        float term;
        if (maskedByGroups(rowGroups[h], columnGroups[q], j[q], rows[h].target))
          term = 0.0f;
        else if (OneExponential && j[q] != rows[h].target)
          term = negativeTermOneExp(s, rows[h], columns[q].valid, rowFactor[h], columnFactor[q]);
        else
          term = gradientTerm(s, j[q], rows[h], OneExponential ? loadColumnStatistics(p.loss, j[q]) : columns[q],
                              p.loss.rowWeight);
        logScaleSum += term * s;
        stored[q] = term * kGradientStorageScale;
      }
      T* out = p.gradientTerms + plan.termsOffset(tile.x, tile.y) + int64_t(at.row(4 * group + 2 * h)) * plan.paddedCols +
               at.col(4 * group);
      *reinterpret_cast<uint32_t*>(out) = packPair<T>(stored[0], stored[1]);
    }
  }
  return logScaleSum;
}
#endif

// (B) The 128×128 tiles of G (x: column tile J, y: row tile within the panel), persistent blocks.
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90TermsKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap uRows, const __grid_constant__ CUtensorMap vRows,
                    int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM90A
  static_assert(128 * sm90::kConsumers == kTermFactorWorkers, "every consumer thread is one row's or one column's factor");
  extern __shared__ __align__(1024) unsigned char shared[];
  __shared__ double warpSums[4 * sm90::kConsumers];
  __shared__ TermFactors factors;
  const PanelPlan& plan = p.plan;
  const int worker = int(threadIdx.x) - 128;  // consumers: 0..255; the producer warpgroup: negative
  sm90::Pipeline pipeline = sm90::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    const int64_t col0 = tile.x * sm90::kTile;
    const int64_t row0 = plan.panelBegin(panelIndex) + tile.y * sm90::kTile;
    TermFactorInput factorInput;
    if (worker >= 0) factorInput = loadTermFactorInput(p.loss, row0, col0, worker);  // hidden by the product
    float acc[sm90::kAccumulators];
    const int consumer = sm90::gemmTile<T, KMajor, KMajor>(acc, pipeline, &uRows, int(row0), 0, &vRows, int(col0), 0,
                                                           int(plan.paddedDim));
    if (consumer < 0) continue;  // the producer: on to the next tile's copies
    const bool oneExponential = blockTermFactors(factorInput, worker, p.loss.rowWeight, factors, sm90::ConsumerBarrier{}) &&
                                p.loss.oneExponential;
    const float logScaleSum = oneExponential ? storeTerms<T, true>(acc, consumer, p, tile, row0, col0, factors)
                                             : storeTerms<T, false>(acc, consumer, p, tile, row0, col0, factors);
    // Σ (G/w_r)·S of the tile, the consumer warps in order (the producer's zeros left out change nothing).
    const double total = groupSumInOrder<4 * sm90::kConsumers>(logScaleSum, warpSums, worker / 32, sm90::ConsumerBarrier{});
    if (worker == 0)
      p.loss.logScalePartials[plan.logScalePartialOffset(panelIndex) + tile.y * plan.colTiles() + tile.x] =
          total * double(p.loss.rowWeight);
  }
#else
  (void)p, (void)uRows, (void)vRows, (void)panelIndex, (void)tiles;
#endif
}

#ifdef INFONCE_SM90A
// A consumer's 64 × 128 accumulators times `scale` (+ the previous value when `accumulate`) into a
// row-major fp32 block at `out` (the block tile's first element).
__device__ __forceinline__ void storeConsumerBlock(const float (&acc)[sm90::kAccumulators], int consumer, float scale,
                                                   float* out, int64_t ld, bool accumulate) {
  const ConsumerLanes at(consumer);
#pragma unroll
  for (int e = 0; e < sm90::kAccumulators; e += 2) {
    float2* target = reinterpret_cast<float2*>(out + int64_t(at.row(e)) * ld + at.col(e));
    float2 value = accumulate ? *target : make_float2(0.0f, 0.0f);
    value.x += acc[e] * scale;
    value.y += acc[e + 1] * scale;
    *target = value;
  }
}
#endif

// (C) The 128×128 blocks of dU_panel (x: D tile, y: row tile within the panel, z: split of N),
// persistent blocks (the producer loads the next block's stages during this one's stores).
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90RowGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gRows,
                          const __grid_constant__ CUtensorMap vAlongD, int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM90A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  sm90::Pipeline pipeline = sm90::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    const int64_t k0 = plan.splitBegin(tile.z), k1 = plan.splitBegin(tile.z + 1);
    float acc[sm90::kAccumulators];
    const int consumer = sm90::gemmTile<T, KMajor, MNMajor>(acc, pipeline, &gRows, int(tile.y * sm90::kTile), int(k0), &vAlongD,
                                                            int(tile.x * sm90::kTile), int(k0), int(k1 - k0));
    if (consumer < 0) continue;
    float* out = (plan.splits > 1 ? p.workspace : p.loss.gradU) + plan.rowGradientOffset(panelIndex, tile.x, tile.y, tile.z);
    storeConsumerBlock(acc, consumer, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale), out,
                       plan.paddedDim, false);
  }
#else
  (void)p, (void)gRows, (void)vAlongD, (void)panelIndex, (void)tiles;
#endif
}

// (D) The 128×128 blocks of dV (x: D tile, y: column tile J), each accumulated over the panels in
// order (one writer per block and launch), persistent blocks.
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90ColumnGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gTransposed,
                             const __grid_constant__ CUtensorMap uAlongD, int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM90A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  sm90::Pipeline pipeline = sm90::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    float acc[sm90::kAccumulators];
    // Gᵀ[j][i] = G[i][j] (M = j contiguous), over the panel's rows i; U_panel from row panelBegin.
    const int consumer = sm90::gemmTile<T, MNMajor, MNMajor>(acc, pipeline, &gTransposed, int(tile.y * sm90::kTile), 0, &uAlongD,
                                                             int(tile.x * sm90::kTile), int(plan.panelBegin(panelIndex)),
                                                             int(plan.panelHeight(panelIndex)));
    if (consumer < 0) continue;
    storeConsumerBlock(acc, consumer, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale),
                       p.loss.gradV + plan.columnGradientOffset(tile.x, tile.y), plan.paddedDim, panelIndex > 0);
  }
#else
  (void)p, (void)gTransposed, (void)uAlongD, (void)panelIndex, (void)tiles;
#endif
}

}  // namespace

template <typename T>
cudaError_t launchPanelGradientsSm90(const PanelParams<T>& p, cudaStream_t stream,
                                  const std::function<void(const char*)>& mark, std::string& error) {
  return launchPanelKernels<T>(p, stream, mark, error, "wgmma", sm90TermsKernel<T>, sm90RowGradientKernel<T>,
                               sm90ColumnGradientKernel<T>, sm90::kThreads, sm90::kSharedBytes);
}

template cudaError_t launchPanelGradientsSm90<__nv_bfloat16>(const PanelParams<__nv_bfloat16>&, cudaStream_t,
                                                             const std::function<void(const char*)>&, std::string&);
template cudaError_t launchPanelGradientsSm90<__half>(const PanelParams<__half>&, cudaStream_t,
                                                      const std::function<void(const char*)>&, std::string&);

}  // namespace infonce::cuda
