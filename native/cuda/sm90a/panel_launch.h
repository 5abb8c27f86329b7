// Host side shared by the launchers of the panel kernels on TMA main loops (statistics_pass_sm90.cu,
// statistics_pass_sm100.cu, panel_gradients_sm90.cu, panel_gradients_sm100.cu): the operands' tensor
// maps, and the launch order of each pass.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <string>
#include <type_traits>

#include "panels/panel_gradients.h"
#include "sm90a/tensor_maps.h"

namespace infonce::cuda {

// The operands' TMA maps (tensor_maps.h), made on the host for the whole buffers.
struct PanelMaps {
  CUtensorMap uRows, vRows;  // K-major: U and V rows, K = D (kernel B)
  CUtensorMap gRows;         // K-major: G rows, K = the columns (kernel C)
  CUtensorMap vAlongD;       // MN-major: V read as [j][d], N = D (kernel C)
  CUtensorMap gTransposed;   // MN-major: G read as [i][j] for Gᵀ, M = j (kernel D)
  CUtensorMap uAlongD;       // MN-major: U read as [i][d], N = D (kernel D)
};

// Throws std::runtime_error naming the map that could not be made.
template <typename T>
PanelMaps panelMapsOrThrow(const PanelParams<T>& p) {
  using sm90::KMajor;
  using sm90::MNMajor;
  const PanelPlan& plan = p.plan;
  constexpr bool bf16 = std::is_same<T, __nv_bfloat16>::value;
  PanelMaps maps;
  maps.uRows = sm90::operandMapOrThrow<KMajor>(p.loss.u, plan.paddedRows, plan.paddedDim, bf16, "U rows");
  maps.vRows = sm90::operandMapOrThrow<KMajor>(p.loss.v, plan.paddedCols, plan.paddedDim, bf16, "V rows");
  maps.gRows = sm90::operandMapOrThrow<KMajor>(p.gradientTerms, plan.panelRows, plan.paddedCols, bf16, "G rows");
  maps.vAlongD = sm90::operandMapOrThrow<MNMajor>(p.loss.v, plan.paddedDim, plan.paddedCols, bf16, "V along D");
  maps.gTransposed = sm90::operandMapOrThrow<MNMajor>(p.gradientTerms, plan.paddedCols, plan.panelRows, bf16, "Gᵀ");
  maps.uAlongD = sm90::operandMapOrThrow<MNMajor>(p.loss.u, plan.paddedDim, plan.paddedRows, bf16, "U along D");
  return maps;
}

// Pass 1, every launch of the plan in order: `kernel` (one block a planned tile group) with the maps
// of U's and V's rows. On a map that cannot be made, cudaErrorInvalidValue with the reason in `error`.
template <typename T>
cudaError_t launchStatisticsInOrder(const LossParams<T>& p, cudaStream_t stream, std::string& error,
                                    void (*kernel)(LossParams<T>, CUtensorMap, CUtensorMap, int), int threads,
                                    int sharedBytes) {
  constexpr bool bf16 = std::is_same<T, __nv_bfloat16>::value;
  CUtensorMap uRows, vRows;
  try {
    uRows = sm90::operandMapOrThrow<sm90::KMajor>(p.u, p.plan.paddedRows, p.plan.paddedDim, bf16, "U rows");
    vRows = sm90::operandMapOrThrow<sm90::KMajor>(p.v, p.plan.paddedCols, p.plan.paddedDim, bf16, "V rows");
  } catch (const std::runtime_error& e) {
    error = e.what();
    return cudaErrorInvalidValue;
  }
  cudaError_t status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sharedBytes);
  for (int launch = 0; launch < p.plan.launches && status == cudaSuccess; ++launch) {
    kernel<<<p.plan.blocksPerLaunch(), threads, sharedBytes, stream>>>(p, uRows, vRows, launch);
    status = cudaGetLastError();
  }
  return status;
}

// A panel kernel on a TMA main loop: (params, its two operands' maps, the panel, the grid of 128 × 128
// output tiles it runs over persistently).
template <typename T>
using PanelKernel = void (*)(PanelParams<T>, CUtensorMap, CUtensorMap, int64_t, dim3);

// One such kernel over a grid of tiles (x, y, z counts), as min(tiles, SMs) persistent blocks.
template <typename T>
cudaError_t launchPersistent(PanelKernel<T> kernel, const PanelParams<T>& p, const CUtensorMap& aMap, const CUtensorMap& bMap,
                             int64_t panelIndex, const int64_t* tileGrid, int multiprocessors, int threads, int sharedBytes,
                             cudaStream_t stream) {
  const dim3 tiles{unsigned(tileGrid[0]), unsigned(tileGrid[1]), unsigned(tileGrid[2])};
  const unsigned blocks = unsigned(std::min<int64_t>(tileGrid[0] * tileGrid[1] * tileGrid[2], multiprocessors));
  kernel<<<blocks, threads, sharedBytes, stream>>>(p, aMap, bMap, panelIndex, tiles);
  return cudaGetLastError();
}

// Every panel in order: G (`terms`), dU (`rows`, then the split sums), dV (`columns`), each launched
// as min(tiles, SMs) persistent blocks of `threads` with `sharedBytes`. `mark` gets each phase's
// name with the loop's (`loop`: "wgmma", "tcgen05"), as INFONCE_CUDA_PROFILE reports it. On a map
// that cannot be made, cudaErrorInvalidValue with the reason in `error`.
template <typename T>
cudaError_t launchPanelKernels(const PanelParams<T>& p, cudaStream_t stream, const std::function<void(const char*)>& mark,
                               std::string& error, const char* loop, PanelKernel<T> terms, PanelKernel<T> rows,
                               PanelKernel<T> columns, int threads, int sharedBytes) {
  PanelMaps maps;
  try {
    maps = panelMapsOrThrow(p);
  } catch (const std::runtime_error& e) {
    error = e.what();
    return cudaErrorInvalidValue;
  }
  const PanelPlan& plan = p.plan;
  int device = 0, multiprocessors = 0;
  cudaError_t status;
  if ((status = cudaGetDevice(&device)) != cudaSuccess ||
      (status = cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess)
    return status;
  for (PanelKernel<T> kernel : {terms, rows, columns})
    if ((status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sharedBytes)) != cudaSuccess)
      return status;
  auto launch = [&](PanelKernel<T> kernel, const CUtensorMap& aMap, const CUtensorMap& bMap, int64_t panelIndex,
                    const int64_t* tileGrid) {
    return launchPersistent(kernel, p, aMap, bMap, panelIndex, tileGrid, multiprocessors, threads, sharedBytes, stream);
  };
  auto marked = [&](const char* phase) { mark((std::string(phase) + ", " + loop).c_str()); };
  for (int64_t panelIndex = 0; panelIndex < plan.panels; ++panelIndex) {
    const PanelGrids grids = panelGrids(plan, panelIndex);
    if ((status = launch(terms, maps.uRows, maps.vRows, panelIndex, grids.terms)) != cudaSuccess) return status;
    marked("G (S recomputed)");
    if ((status = launch(rows, maps.gRows, maps.vAlongD, panelIndex, grids.rowGradient)) != cudaSuccess) return status;
    marked("dU = G·V");
    if (plan.splits > 1) {
      if ((status = launchSumSplits(plan, panelIndex, p.workspace, p.loss.gradU, stream)) != cudaSuccess) return status;
      mark("dU splits summed");
    }
    if ((status = launch(columns, maps.gTransposed, maps.uAlongD, panelIndex, grids.columnGradient)) != cudaSuccess)
      return status;
    marked("dV += Gᵀ·U");
  }
  return cudaSuccess;
}

}  // namespace infonce::cuda
