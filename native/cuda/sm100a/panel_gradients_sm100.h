// Host-side declarations of the sm_100a kernels (statistics_pass_sm100.cu, panel_gradients_sm100.cu):
// the same plans and buffers as the panel schedule's sm_80 kernels, on the tcgen05 + TMA main loop. In
// development: chosen only with INFONCE_CUDA_TCGEN05=1 on a GPU of compute capability 10.0.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <functional>
#include <string>

#include "panels/panel_gradients.h"

namespace infonce::cuda {

// Pass 1 (the statistics), all the plan's launches in order (statistics_pass_sm100.cu): the same plan,
// buffers and merge order as launchStatistics with the panel loop. Errors as launchPanelGradientsSm100.
template <typename T>
cudaError_t launchStatisticsSm100(const LossParams<T>& params, cudaStream_t stream, std::string& error);

// All panels, in order, on `stream`; T is __nv_bfloat16 or __half. On a TMA map that cannot be made,
// returns cudaErrorInvalidValue with the reason in `error`.
template <typename T>
cudaError_t launchPanelGradientsSm100(const PanelParams<T>& params, cudaStream_t stream,
                                      const std::function<void(const char*)>& mark, std::string& error);

}  // namespace infonce::cuda
