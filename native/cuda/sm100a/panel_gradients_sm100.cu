// The panel gradient pass's three GEMM kernels on sm_100a (B200/GB200): the main loop of
// panel_gemm_sm100.cuh (TMA + mbarriers + tcgen05, accumulators in TMEM; a producer warp, an MMA warp
// and eight epilogue warps) with the epilogues of panel_gradients.cu, on the same plan (panel_plan.h),
// buffers and output offsets:
//   (B) sm100TermsKernel:       S_panel = U_panel·Vᵀ (K-major, K-major), then G and Σ G·S per block
//                               (one exponential per logit where the block allows it: term_factors.cuh);
//   (C) sm100RowGradientKernel: dU_panel = s·G·V (K-major, MN-major), one split of N a block;
//   (D) sm100ColumnGradientKernel: dV += s·Gᵀ·U_panel (MN-major, MN-major), one writer per block.
// The split sums are the sm_80 pass's (launchSumSplits); the statistics, statistics_pass_sm100.cu. Each
// kernel is persistent (panel_launch.h launches one block an SM over the launch's tiles), so the MMAs
// of a block's next tile run in the other TMEM buffer during this tile's epilogue.
//
// In the tcgen05 layout an epilogue thread holds one row of the block tile and 64 adjacent columns
// (panel_gemm_sm100.cuh: EpilogueLanes), so its stores are whole 16-byte vectors.
//
// Compiled for sm_100a alone (CMakeLists.txt: its own object library), and chosen only when the panel
// schedule runs on a GPU of compute capability 10.0 and INFONCE_CUDA_TCGEN05=1: in development, until
// a B200 has passed dev/tcgen05_check.cu and these kernels against the reference.
#include <stdexcept>
#include <string>

#include "gradient_epilogue.h"
#include "tiles/logit_tile.cuh"  // blockSumInOrder
#include "operand_types.cuh"
#include "sm100a/panel_gemm_sm100.cuh"
#include "sm100a/panel_gradients_sm100.h"
#include "sm90a/panel_launch.h"
#include "sm90a/tensor_maps.h"
#include "panels/term_factors.cuh"

namespace infonce::cuda {
namespace {

using sm100::KMajor;
using sm100::MNMajor;

#ifdef INFONCE_SM100A
// The 256 epilogue threads alone (the producer and MMA warps do not take part): named barrier 1.
struct EpilogueBarrier {
  __device__ void operator()() const { asm volatile("bar.sync 1, %0;\n" ::"n"(32 * sm100::kEpilogueWarps) : "memory"); }
};

// Kernel B's epilogue for one epilogue thread: G of its 64 logits (row at.row, columns at.col0..)
// into the panel's G, masked logits 0; returns Σ (G/w_r)·S over them. As panel_gradients.cu's
// storeTerms: OneExponential takes the block's factors (term_factors.cuh).
template <typename T, bool OneExponential>
__device__ __forceinline__ float storeTerms(const float (&acc)[sm100::kAccumulators], const sm100::EpilogueLanes& at,
                                            const PanelParams<T>& p, const GridTile& tile, int64_t row0, int64_t col0,
                                            const TermFactors& factors) {
  const PanelPlan& plan = p.plan;
  int32_t rowGroup;
  const RowStatistics row = loadRowStatistics(p.loss, row0 + at.row, rowGroup);
  const float rowFactor = OneExponential ? factors.row[at.row] : 0.0f;
  T* out = p.gradientTerms + plan.termsOffset(tile.x, tile.y) + int64_t(at.row) * plan.paddedCols + at.col0;
  float logScaleSum = 0.0f;
#pragma unroll
  for (int e = 0; e < sm100::kAccumulators; e += 8) {  // 8 columns: one 16-byte store of G
    uint32_t packed[4];
#pragma unroll
    for (int pair = 0; pair < 4; ++pair) {
      float stored[2];
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        const int c = at.col0 + e + 2 * pair + q;
        const int64_t j = col0 + c;
        const float s = acc[e + 2 * pair + q] * p.loss.scale;
        const bool valid = j < plan.cols;
        const int32_t columnGroup = valid && p.loss.columnGroups ? p.loss.columnGroups[j] : -1;
        float term;
        if (maskedByGroups(rowGroup, columnGroup, j, row.target))
          term = 0.0f;
        else if (OneExponential && j != row.target)
          term = negativeTermOneExp(s, row, valid, rowFactor, factors.column[c]);
        else
          term = gradientTerm(s, j, row, loadColumnStatistics(p.loss, j), p.loss.rowWeight);
        logScaleSum += term * s;
        stored[q] = term * kGradientStorageScale;
      }
      packed[pair] = pack(HalfOperand<T>::fromFloat(stored[0]), HalfOperand<T>::fromFloat(stored[1]));
    }
    *reinterpret_cast<uint4*>(out + e) = make_uint4(packed[0], packed[1], packed[2], packed[3]);
  }
  return logScaleSum;
}

// An epilogue thread's 64 accumulators times `scale` (+ the previous value when `accumulate`) into a
// row-major fp32 block at `out` (the block tile's first element).
__device__ __forceinline__ void storeRow(const float (&acc)[sm100::kAccumulators], const sm100::EpilogueLanes& at, float scale,
                                         float* out, int64_t ld, bool accumulate) {
  float4* target = reinterpret_cast<float4*>(out + int64_t(at.row) * ld + at.col0);
#pragma unroll
  for (int e = 0; e < sm100::kAccumulators; e += 4) {
    float4 value = accumulate ? target[e / 4] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    value.x += acc[e] * scale;
    value.y += acc[e + 1] * scale;
    value.z += acc[e + 2] * scale;
    value.w += acc[e + 3] * scale;
    target[e / 4] = value;
  }
}
#endif

// (B) The 128×128 tiles of G (x: column tile J, y: row tile within the panel), persistent blocks
// (the next tile's MMAs run in the other TMEM buffer during this tile's epilogue).
template <typename T>
__global__ void __launch_bounds__(sm100::kThreads, 1)
    sm100TermsKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap uRows, const __grid_constant__ CUtensorMap vRows,
                     int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM100A
  static_assert(32 * sm100::kEpilogueWarps == kTermFactorWorkers, "every epilogue thread is one row's or one column's factor");
  extern __shared__ __align__(1024) unsigned char shared[];
  __shared__ double warpSums[sm100::kEpilogueWarps];
  __shared__ TermFactors factors;
  const PanelPlan& plan = p.plan;
  const int worker = int(threadIdx.x);  // the epilogue warps are 0–7
  sm100::Pipeline pipeline = sm100::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    const int64_t col0 = tile.x * sm100::kTile;
    const int64_t row0 = plan.panelBegin(panelIndex) + tile.y * sm100::kTile;
    TermFactorInput factorInput;
    if (worker < kTermFactorWorkers) factorInput = loadTermFactorInput(p.loss, row0, col0, worker);  // hidden by the product
    float acc[sm100::kAccumulators];
    const int warp = sm100::gemmTile<T, KMajor, KMajor>(acc, pipeline, &uRows, int(row0), 0, &vRows, int(col0), 0,
                                                        int(plan.paddedDim));
    if (warp < 0) continue;  // the producer and MMA warps: on to the next tile
    const sm100::EpilogueLanes at(warp);
    const bool oneExponential =
        blockTermFactors(factorInput, worker, p.loss.rowWeight, factors, EpilogueBarrier{}) && p.loss.oneExponential;
    const float logScaleSum = oneExponential ? storeTerms<T, true>(acc, at, p, tile, row0, col0, factors)
                                             : storeTerms<T, false>(acc, at, p, tile, row0, col0, factors);
    // Σ (G/w_r)·S of the tile, the epilogue warps in order (the other warps' zeros left out change nothing).
    const double total = groupSumInOrder<sm100::kEpilogueWarps>(logScaleSum, warpSums, warp, EpilogueBarrier{});
    if (worker == 0)
      p.loss.logScalePartials[plan.logScalePartialOffset(panelIndex) + tile.y * plan.colTiles() + tile.x] =
          total * double(p.loss.rowWeight);
  }
  sm100::finishPipeline(pipeline);
#else
  (void)p, (void)uRows, (void)vRows, (void)panelIndex, (void)tiles;
#endif
}

// (C) The 128×128 blocks of dU_panel (x: D tile, y: row tile within the panel, z: split of N),
// persistent blocks.
template <typename T>
__global__ void __launch_bounds__(sm100::kThreads, 1)
    sm100RowGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gRows,
                           const __grid_constant__ CUtensorMap vAlongD, int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM100A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  sm100::Pipeline pipeline = sm100::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    const int64_t k0 = plan.splitBegin(tile.z), k1 = plan.splitBegin(tile.z + 1);
    float acc[sm100::kAccumulators];
    const int warp = sm100::gemmTile<T, KMajor, MNMajor>(acc, pipeline, &gRows, int(tile.y * sm100::kTile), int(k0), &vAlongD,
                                                         int(tile.x * sm100::kTile), int(k0), int(k1 - k0));
    if (warp < 0) continue;
    float* out = (plan.splits > 1 ? p.workspace : p.loss.gradU) + plan.rowGradientOffset(panelIndex, tile.x, tile.y, tile.z);
    storeRow(acc, sm100::EpilogueLanes(warp), gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale), out,
             plan.paddedDim, false);
  }
  sm100::finishPipeline(pipeline);
#else
  (void)p, (void)gRows, (void)vAlongD, (void)panelIndex, (void)tiles;
#endif
}

// (D) The 128×128 blocks of dV (x: D tile, y: column tile J), each accumulated over the panels in
// order (one writer per block and launch), persistent blocks.
template <typename T>
__global__ void __launch_bounds__(sm100::kThreads, 1)
    sm100ColumnGradientKernel(PanelParams<T> p, const __grid_constant__ CUtensorMap gTransposed,
                              const __grid_constant__ CUtensorMap uAlongD, int64_t panelIndex, dim3 tiles) {
#ifdef INFONCE_SM100A
  extern __shared__ __align__(1024) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  sm100::Pipeline pipeline = sm100::startPipeline(shared);
  for (int64_t t = blockIdx.x; t < tileCount(tiles); t += gridDim.x) {
    const GridTile tile = gridTile(t, tiles);
    float acc[sm100::kAccumulators];
    // Gᵀ[j][i] = G[i][j] (M = j contiguous), over the panel's rows i; U_panel from row panelBegin.
    const int warp = sm100::gemmTile<T, MNMajor, MNMajor>(acc, pipeline, &gTransposed, int(tile.y * sm100::kTile), 0, &uAlongD,
                                                          int(tile.x * sm100::kTile), int(plan.panelBegin(panelIndex)),
                                                          int(plan.panelHeight(panelIndex)));
    if (warp < 0) continue;
    storeRow(acc, sm100::EpilogueLanes(warp), gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale),
             p.loss.gradV + plan.columnGradientOffset(tile.x, tile.y), plan.paddedDim, panelIndex > 0);
  }
  sm100::finishPipeline(pipeline);
#else
  (void)p, (void)gTransposed, (void)uAlongD, (void)panelIndex, (void)tiles;
#endif
}

}  // namespace

template <typename T>
cudaError_t launchPanelGradientsSm100(const PanelParams<T>& p, cudaStream_t stream,
                                  const std::function<void(const char*)>& mark, std::string& error) {
  return launchPanelKernels<T>(p, stream, mark, error, "tcgen05", sm100TermsKernel<T>, sm100RowGradientKernel<T>,
                               sm100ColumnGradientKernel<T>, sm100::kThreads, sm100::kSharedBytes);
}

template cudaError_t launchPanelGradientsSm100<__nv_bfloat16>(const PanelParams<__nv_bfloat16>&, cudaStream_t,
                                                              const std::function<void(const char*)>&, std::string&);
template cudaError_t launchPanelGradientsSm100<__half>(const PanelParams<__half>&, cudaStream_t,
                                                       const std::function<void(const char*)>&, std::string&);

}  // namespace infonce::cuda
