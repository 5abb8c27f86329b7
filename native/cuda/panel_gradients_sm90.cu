// The panel gradient pass's three GEMM kernels on sm_90a (H100/H200): the main loop of
// panel_gemm_sm90.cuh (TMA + mbarriers + wgmma, a producer warpgroup and two consumers) with the
// epilogues of panel_gradients.cu, on the same plan (panel_plan.h), buffers and output offsets:
//   (B) sm90TermsKernel:       S_panel = U_panel·Vᵀ (K-major, K-major), then G and Σ G·S per block
//                              (one exponential per logit where the block allows it: term_factors.cuh);
//   (C) sm90RowGradientKernel: dU_panel = s·G·V (K-major, MN-major), one split of N a block;
//   (D) sm90ColumnGradientKernel: dV += s·Gᵀ·U_panel (MN-major, MN-major), one writer per block.
// The split sums (launchSumSplits) and the statistics pass are the sm_80 ones.
//
// Compiled for sm_90a alone (CMakeLists.txt: its own object library), and chosen only when the
// panel schedule runs on a GPU of compute capability 9.0 and INFONCE_CUDA_WGMMA=1: in development,
// until bench/gpu-check.sh has passed dev/wgmma_check.cu and these kernels against the reference.
#include <stdexcept>
#include <string>

#include "gradient_epilogue.h"
#include "logit_tile.cuh"  // blockSumInOrder
#include "operand_types.cuh"
#include "panel_gemm_sm90.cuh"
#include "panel_gradients_sm90.h"
#include "panel_launch.h"
#include "tensor_maps.h"
#include "term_factors.cuh"

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
                                            int64_t row0, int64_t col0, const TermFactors& factors) {
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
      T* out = p.gradientTerms + plan.termsOffset(blockIdx.x, blockIdx.y) + int64_t(at.row(4 * group + 2 * h)) * plan.paddedCols +
               at.col(4 * group);
      *reinterpret_cast<uint32_t*>(out) = packPair<T>(stored[0], stored[1]);
    }
  }
  return logScaleSum;
}
#endif

// (B) One 128×128 tile of G: block (x: column tile J, y: row tile within the panel).
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90TermsKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap uRows, const __grid_constant__ CUtensorMap vRows,
                    int64_t panelIndex) {
#ifdef INFONCE_SM90A
  static_assert(128 * sm90::kConsumers == kTermFactorWorkers, "every consumer thread is one row's or one column's factor");
  extern __shared__ __align__(1024) unsigned char shared[];
  __shared__ double warpSums[sm90::kThreads / 32];
  __shared__ TermFactors factors;
  const PanelPlan& plan = p.plan;
  const int64_t col0 = int64_t(blockIdx.x) * sm90::kTile;
  const int64_t localRow0 = int64_t(blockIdx.y) * sm90::kTile;
  const int64_t row0 = plan.panelBegin(panelIndex) + localRow0;
  const int worker = int(threadIdx.x) - 128;  // consumers: 0..255; the producer warpgroup: negative
  TermFactorInput factorInput;
  if (worker >= 0) factorInput = loadTermFactorInput(p.loss, row0, col0, worker);  // hidden by the product
  float acc[sm90::kAccumulators];
  const int consumer = sm90::gemmTile<T, KMajor, KMajor>(acc, &uRows, int(row0), 0, &vRows, int(col0), 0,
                                                         int(plan.paddedDim), shared);
  float logScaleSum = 0.0f;  // Σ (G/w_r)·S over this thread's logits (the producer's: none)
  if (consumer >= 0) {
    const bool oneExponential = blockTermFactors(factorInput, worker, p.loss.rowWeight, factors, sm90::ConsumerBarrier{}) &&
                                  p.loss.oneExponential;
    logScaleSum = oneExponential ? storeTerms<T, true>(acc, consumer, p, row0, col0, factors)
                                 : storeTerms<T, false>(acc, consumer, p, row0, col0, factors);
  }
  const double total = blockSumInOrder<sm90::kThreads>(logScaleSum, warpSums);
  if (threadIdx.x == 0)
    p.loss.logScalePartials[plan.logScalePartialOffset(panelIndex) + int64_t(blockIdx.y) * plan.colTiles() + blockIdx.x] =
        total * double(p.loss.rowWeight);
#else
  (void)p, (void)uRows, (void)vRows, (void)panelIndex;
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

// (C) One 128×128 block of dU_panel (x: D tile, y: row tile within the panel, z: split of N).
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90RowGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gRows,
                          const __grid_constant__ CUtensorMap vAlongD, int64_t panelIndex) {
#ifdef INFONCE_SM90A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  const int64_t d0 = int64_t(blockIdx.x) * sm90::kTile;
  const int64_t localRow0 = int64_t(blockIdx.y) * sm90::kTile;
  const int64_t split = blockIdx.z;
  const int64_t k0 = plan.splitBegin(split), k1 = plan.splitBegin(split + 1);
  float acc[sm90::kAccumulators];
  const int consumer = sm90::gemmTile<T, KMajor, MNMajor>(acc, &gRows, int(localRow0), int(k0), &vAlongD, int(d0),
                                                          int(k0), int(k1 - k0), shared);
  if (consumer < 0) return;
  float* out = (plan.splits > 1 ? p.workspace : p.loss.gradU) + plan.rowGradientOffset(panelIndex, blockIdx.x, blockIdx.y, split);
  storeConsumerBlock(acc, consumer, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale), out,
                     plan.paddedDim, false);
#else
  (void)p, (void)gRows, (void)vAlongD, (void)panelIndex;
#endif
}

// (D) One 128×128 block of dV (x: D tile, y: column tile J), accumulated over the panels in order.
template <typename T>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    sm90ColumnGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gTransposed,
                             const __grid_constant__ CUtensorMap uAlongD, int64_t panelIndex) {
#ifdef INFONCE_SM90A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  const int64_t d0 = int64_t(blockIdx.x) * sm90::kTile;
  const int64_t col0 = int64_t(blockIdx.y) * sm90::kTile;
  float acc[sm90::kAccumulators];
  // Gᵀ[j][i] = G[i][j] (M = j contiguous), over the panel's rows i; U_panel from row panelBegin.
  const int consumer = sm90::gemmTile<T, MNMajor, MNMajor>(acc, &gTransposed, int(col0), 0, &uAlongD, int(d0),
                                                           int(plan.panelBegin(panelIndex)),
                                                           int(plan.panelHeight(panelIndex)), shared);
  if (consumer < 0) return;
  storeConsumerBlock(acc, consumer, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale),
                     p.loss.gradV + plan.columnGradientOffset(blockIdx.x, blockIdx.y), plan.paddedDim, panelIndex > 0);
#else
  (void)p, (void)gTransposed, (void)uAlongD, (void)panelIndex;
#endif
}

}  // namespace

template <typename T>
cudaError_t launchPanelGradientsSm90(const PanelParams<T>& p, cudaStream_t stream,
                                     const std::function<void(const char*)>& mark, std::string& error) {
  PanelMaps maps;
  try {
    maps = panelMapsOrThrow(p);
  } catch (const std::runtime_error& e) {
    error = e.what();
    return cudaErrorInvalidValue;
  }
  cudaError_t status;
  for (auto kernel : {sm90TermsKernel<T>, sm90RowGradientKernel<T>, sm90ColumnGradientKernel<T>})
    if ((status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sm90::kSharedBytes)) != cudaSuccess)
      return status;
  return launchPanelsInOrder(
      p, stream, mark, "wgmma",
      [&](int64_t panel, dim3 grid) {
        sm90TermsKernel<T><<<grid, sm90::kThreads, sm90::kSharedBytes, stream>>>(p, maps.uRows, maps.vRows, panel);
        return cudaGetLastError();
      },
      [&](int64_t panel, dim3 grid) {
        sm90RowGradientKernel<T><<<grid, sm90::kThreads, sm90::kSharedBytes, stream>>>(p, maps.gRows, maps.vAlongD, panel);
        return cudaGetLastError();
      },
      [&](int64_t panel, dim3 grid) {
        sm90ColumnGradientKernel<T><<<grid, sm90::kThreads, sm90::kSharedBytes, stream>>>(p, maps.gTransposed, maps.uAlongD, panel);
        return cudaGetLastError();
      });
}

template cudaError_t launchPanelGradientsSm90<__nv_bfloat16>(const PanelParams<__nv_bfloat16>&, cudaStream_t,
                                                             const std::function<void(const char*)>&, std::string&);
template cudaError_t launchPanelGradientsSm90<__half>(const PanelParams<__half>&, cudaStream_t,
                                                      const std::function<void(const char*)>&, std::string&);

}  // namespace infonce::cuda
