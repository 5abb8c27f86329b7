// Pass 2 as three GEMM-shaped kernels per panel of P rows (the schedule: panel_plan.h; the main
// loop: panel_gemm.cuh; the epilogue: gradient_epilogue.h):
//   (B) gradientTermsKernel:  S_panel = U_panel·Vᵀ, then G (16-bit, scaled; 0 where the groups mask)
//       and Σ G·S per block, one exponential per logit where the block allows it (term_factors.cuh);
//   (C) rowGradientKernel:    dU_panel = s·G·V, split along N into fixed ranges when needed,
//       then sumSplitsKernel adds the split partials in split order;
//   (D) columnGradientKernel: dV += s·Gᵀ·U_panel, one writer per output block.
//
// FLOPs: 2·P·N·D for each of B, C and D, so 6·M·N·D over all panels (as the tile kernel). Bytes per
// panel: G written once (2·P·N) and read twice (by C and D); dV read and written once (8·N·D);
// dU written once (4·P·D, plus 8·splits·P·D for split partials). At M = N = 65,536, D = 1,024 and
// P = 8,192: ~30 GB in all, ~7 ms of HBM time on an H100, against 6·M·N·D = 2.6·10¹⁶ FLOPs.
// The tile kernel it replaces moved ~550 GB (a read-modify-write of dU and dV per tile).
#include "gradient_epilogue.h"
#include "panels/panel_gemm.cuh"
#include "panels/panel_gradients.h"
#include "panels/term_factors.cuh"

namespace infonce::cuda {
namespace {

// The panel kernels are launched on sm_80 and newer only (loss_orchestration.cu: panelGradientsChosen): ldmatrix,
// cp.async and bf16 mma.sync. For older targets of the same fat binary their bodies are left empty,
// which saves the compile and the code size of a path that never runs there.
using panel::Accumulators;
using panel::KContiguous;
using panel::Lanes;
using panel::MContiguous;
using panel::NContiguous;
// dU and dV on 64 × 64 warp tiles (panel_gemm.cuh: FourWarps): their epilogue is a store (storeBlock).
using ProductWarps = panel::FourWarps;

// Two adjacent elements of T from two floats, as one 32-bit store.
template <class Op>
__device__ __forceinline__ uint32_t packPair(float low, float high) {
  return pack(Op::fromFloat(low), Op::fromFloat(high));
}

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // used by the sm_80+ bodies only
struct BlockBarrier {
  __device__ void operator()() const { __syncthreads(); }
};

// Kernel B's epilogue: G of this thread's logits into the panel's G (16-bit, scaled), masked logits
// 0; returns Σ (G/w_r)·S over them. OneExponential: the block's factors (term_factors.cuh) turn each
// negative's column term into a multiply; the positive keeps gradientTerm's expm1.
template <class Op, bool OneExponential>
__device__ __forceinline__ float storeTerms(const Accumulators& acc, const PanelParams<typename Op::Element>& p, int64_t row0,
                                            int64_t col0, const TermFactors& factors) {
  using T = typename Op::Element;
  const PanelPlan& plan = p.plan;
  const Lanes at;
  ColumnStatistics columns[panel::kFragmentCols][2];  // OneExponential: only `valid`
  float columnFactor[panel::kFragmentCols][2];
  int32_t columnGroups[panel::kFragmentCols][2];  // -1 (no group) without masking and for padding
#pragma unroll
  for (int n = 0; n < panel::kFragmentCols; ++n)
#pragma unroll
    for (int q = 0; q < 2; ++q) {
      const int64_t j = col0 + at.col(n, q);
      if (OneExponential) {
        columns[n][q].valid = j < plan.cols;
        columnFactor[n][q] = factors.column[at.col(n, q)];
      } else {
        columns[n][q] = loadColumnStatistics(p.loss, j);
      }
      columnGroups[n][q] = columns[n][q].valid && p.loss.columnGroups ? p.loss.columnGroups[j] : -1;
    }
  float logScaleSum = 0.0f;
#pragma unroll
  for (int m = 0; m < panel::kFragmentRows; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = at.row(m, h);
      const int64_t i = row0 + r;
      int32_t rowGroup;
      const RowStatistics row = loadRowStatistics(p.loss, i, rowGroup);
      const float rowFactor = OneExponential ? factors.row[r] : 0.0f;
      T* out = p.gradientTerms + plan.termsOffset(blockIdx.x, blockIdx.y) + r * plan.paddedCols;
#pragma unroll
      for (int n = 0; n < panel::kFragmentCols; ++n) {
        float stored[2];
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          const float s = acc[m][n][2 * h + q] * p.loss.scale;
          const int64_t j = col0 + at.col(n, q);
          float term;
          if (maskedByGroups(rowGroup, columnGroups[n][q], j, row.target))
            term = 0.0f;
          else if (OneExponential && j != row.target)
            term = negativeTermOneExp(s, row, columns[n][q].valid, rowFactor, columnFactor[n][q]);
          else
            term = gradientTerm(s, j, row, OneExponential ? loadColumnStatistics(p.loss, j) : columns[n][q], p.loss.rowWeight);
          logScaleSum += term * s;
          stored[q] = term * kGradientStorageScale;
        }
        *reinterpret_cast<uint32_t*>(out + at.col(n, 0)) = packPair<Op>(stored[0], stored[1]);
      }
    }
  return logScaleSum;
}
#endif

// (B) One 128×128 tile of G: block (x: column tile J, y: row tile within the panel).
template <class Op>
__global__ void __launch_bounds__(panel::kThreads, 1)
    gradientTermsKernel(PanelParams<typename Op::Element> p, int64_t panelIndex) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // sm_80+ only: see above
  static_assert(panel::kThreads == kTermFactorWorkers, "every thread is one row's or one column's factor");
  using T = typename Op::Element;
  extern __shared__ __align__(16) unsigned char shared[];
  __shared__ double warpSums[panel::kThreads / 32];
  __shared__ TermFactors factors;
  const PanelPlan& plan = p.plan;
  const int64_t paddedDim = plan.paddedDim;
  const int64_t col0 = int64_t(blockIdx.x) * panel::kTile;
  const int64_t localRow0 = int64_t(blockIdx.y) * panel::kTile;
  const int64_t row0 = plan.panelBegin(panelIndex) + localRow0;

  const TermFactorInput factorInput = loadTermFactorInput(p.loss, row0, col0, threadIdx.x);  // hidden by the product
  Accumulators acc;
  panel::gemmTile<Op, KContiguous, KContiguous>(acc, p.loss.u + row0 * paddedDim, paddedDim, p.loss.v + col0 * paddedDim,
                                                 paddedDim, paddedDim / panel::kDepth, reinterpret_cast<T*>(shared));
  const bool oneExponential = blockTermFactors(factorInput, threadIdx.x, p.loss.rowWeight, factors, BlockBarrier{}) &&
                              p.loss.oneExponential;
  const float logScaleSum = oneExponential ? storeTerms<Op, true>(acc, p, row0, col0, factors)
                                           : storeTerms<Op, false>(acc, p, row0, col0, factors);
  const double total = blockSumInOrder<panel::kThreads>(logScaleSum, warpSums);
  if (threadIdx.x == 0)
    p.loss.logScalePartials[plan.logScalePartialOffset(panelIndex) + int64_t(blockIdx.y) * plan.colTiles() + blockIdx.x] =
        total * double(p.loss.rowWeight);
#endif
}

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // used by the sm_80+ bodies only
// Writes acc·scale (+ the previous value when `accumulate`) into a row-major fp32 block at `out`.
__device__ __forceinline__ void storeBlock(const ProductWarps::Accumulators& acc, float scale, float* out, int64_t ld,
                                           bool accumulate) {
  const panel::WarpLanes<ProductWarps> at;
#pragma unroll
  for (int m = 0; m < ProductWarps::fragmentRows; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int n = 0; n < ProductWarps::fragmentCols; ++n) {
        float2* target = reinterpret_cast<float2*>(out + int64_t(at.row(m, h)) * ld + at.col(n, 0));
        float2 value = accumulate ? *target : make_float2(0.0f, 0.0f);
        value.x += acc[m][n][2 * h] * scale;
        value.y += acc[m][n][2 * h + 1] * scale;
        *target = value;
      }
}
#endif

// (C) One 128×128 block of dU_panel (x: D tile, y: row tile within the panel, z: split of N).
template <class Op>
__global__ void __launch_bounds__(panel::FourWarps::threads, 2)
    rowGradientKernel(PanelParams<typename Op::Element> p, int64_t panelIndex) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // sm_80+ only: see above
  using T = typename Op::Element;
  extern __shared__ __align__(16) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  const int64_t paddedDim = plan.paddedDim, paddedCols = plan.paddedCols;
  const int64_t d0 = int64_t(blockIdx.x) * panel::kTile;
  const int64_t localRow0 = int64_t(blockIdx.y) * panel::kTile;
  const int64_t split = blockIdx.z;
  const int64_t k0 = plan.splitBegin(split), k1 = plan.splitBegin(split + 1);
  ProductWarps::Accumulators acc;
  panel::gemmTile<Op, KContiguous, NContiguous, ProductWarps>(acc, p.gradientTerms + localRow0 * paddedCols + k0, paddedCols,
                                                 p.loss.v + k0 * paddedDim + d0, paddedDim, (k1 - k0) / panel::kDepth,
                                                 reinterpret_cast<T*>(shared));
  float* out = (plan.splits > 1 ? p.workspace : p.loss.gradU) + plan.rowGradientOffset(panelIndex, blockIdx.x, blockIdx.y, split);
  storeBlock(acc, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale), out, paddedDim, false);
#endif
}

// dU_panel = Σ_s workspace[s], s = 0, 1, ... in order: float4 per thread.
__global__ void sumSplitsKernel(const float* workspace, int64_t splits, int64_t panelRows, int64_t height,
                                int64_t paddedDim, float* out) {
  const int64_t vectors = height * paddedDim / 4;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < vectors; k += int64_t(gridDim.x) * blockDim.x) {
    float4 total = reinterpret_cast<const float4*>(workspace)[k];
    for (int64_t s = 1; s < splits; ++s) {
      const float4 part = reinterpret_cast<const float4*>(workspace + s * panelRows * paddedDim)[k];
      total.x += part.x, total.y += part.y, total.z += part.z, total.w += part.w;
    }
    reinterpret_cast<float4*>(out)[k] = total;
  }
}

// (D) One 128×128 block of dV (x: D tile, y: column tile J), accumulated over the panels in order.
template <class Op>
__global__ void __launch_bounds__(panel::FourWarps::threads, 2)
    columnGradientKernel(PanelParams<typename Op::Element> p, int64_t panelIndex) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // sm_80+ only: see above
  using T = typename Op::Element;
  extern __shared__ __align__(16) unsigned char shared[];
  const PanelPlan& plan = p.plan;
  const int64_t paddedDim = plan.paddedDim, paddedCols = plan.paddedCols;
  const int64_t d0 = int64_t(blockIdx.x) * panel::kTile;
  const int64_t col0 = int64_t(blockIdx.y) * panel::kTile;
  ProductWarps::Accumulators acc;
  // Gᵀ[j][i] = G[i][j]: G read in place, M (= j) contiguous.
  panel::gemmTile<Op, MContiguous, NContiguous, ProductWarps>(acc, p.gradientTerms + col0, paddedCols,
                                                 p.loss.u + plan.panelBegin(panelIndex) * paddedDim + d0, paddedDim,
                                                 plan.panelHeight(panelIndex) / panel::kDepth,
                                                 reinterpret_cast<T*>(shared));
  storeBlock(acc, gradientProductScale(p.loss.scale, p.loss.rowWeight, kGradientStorageScale),
             p.loss.gradV + plan.columnGradientOffset(blockIdx.x, blockIdx.y), paddedDim, panelIndex > 0);
#endif
}

template <class Kernel>
cudaError_t allowSharedMemory(Kernel kernel, int bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

}  // namespace

template <class Op>
cudaError_t launchPanelGradients(const PanelParams<typename Op::Element>& p, cudaStream_t stream,
                                 const std::function<void(const char*)>& mark) {
  constexpr int termsBytes = panel::gemmSharedBytes<KContiguous, KContiguous>();
  constexpr int rowBytes = panel::gemmSharedBytes<KContiguous, NContiguous>();
  constexpr int columnBytes = panel::gemmSharedBytes<MContiguous, NContiguous>();
  static_assert(termsBytes == kTermsSharedBytes && rowBytes == kRowGradientSharedBytes &&
                columnBytes == kColumnGradientSharedBytes, "panel_plan.h states what the kernels take");
  cudaError_t status;
  if ((status = allowSharedMemory(gradientTermsKernel<Op>, termsBytes)) != cudaSuccess) return status;
  if ((status = allowSharedMemory(rowGradientKernel<Op>, rowBytes)) != cudaSuccess) return status;
  if ((status = allowSharedMemory(columnGradientKernel<Op>, columnBytes)) != cudaSuccess) return status;
  const PanelPlan& plan = p.plan;
  auto grid = [](const int64_t (&g)[3]) { return dim3(unsigned(g[0]), unsigned(g[1]), unsigned(g[2])); };
  for (int64_t panelIndex = 0; panelIndex < plan.panels; ++panelIndex) {
    const PanelGrids grids = panelGrids(plan, panelIndex);
    gradientTermsKernel<Op><<<grid(grids.terms), panel::kThreads, termsBytes, stream>>>(p, panelIndex);
    if ((status = cudaGetLastError()) != cudaSuccess) return status;
    mark("G (S recomputed)");
    rowGradientKernel<Op><<<grid(grids.rowGradient), ProductWarps::threads, rowBytes, stream>>>(p, panelIndex);
    if ((status = cudaGetLastError()) != cudaSuccess) return status;
    mark("dU = G·V");
    if (plan.splits > 1) {
      if ((status = launchSumSplits(plan, panelIndex, p.workspace, p.loss.gradU, stream)) != cudaSuccess) return status;
      mark("dU splits summed");
    }
    columnGradientKernel<Op><<<grid(grids.columnGradient), ProductWarps::threads, columnBytes, stream>>>(p, panelIndex);
    if ((status = cudaGetLastError()) != cudaSuccess) return status;
    mark("dV += Gᵀ·U");
  }
  return cudaSuccess;
}

cudaError_t launchSumSplits(const PanelPlan& plan, int64_t panelIndex, const float* workspace, float* gradU,
                            cudaStream_t stream) {
  const int64_t vectors = plan.panelHeight(panelIndex) * plan.paddedDim / 4;
  const unsigned blocks = unsigned(std::min<int64_t>((vectors + 255) / 256, 4096));
  sumSplitsKernel<<<blocks, 256, 0, stream>>>(workspace, plan.splits, plan.panelRows, plan.panelHeight(panelIndex),
                                              plan.paddedDim, gradU + plan.panelBegin(panelIndex) * plan.paddedDim);
  return cudaGetLastError();
}

template cudaError_t launchPanelGradients<Bf16Operand>(const PanelParams<Bf16Operand::Element>&, cudaStream_t,
                                                       const std::function<void(const char*)>&);
template cudaError_t launchPanelGradients<Fp16Operand>(const PanelParams<Fp16Operand::Element>&, cudaStream_t,
                                                       const std::function<void(const char*)>&);

}  // namespace infonce::cuda
