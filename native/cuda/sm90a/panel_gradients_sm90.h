// Host-side declarations of the sm_90a kernels (statistics_pass_sm90.cu, panel_gradients_sm90.cu):
// the same plans and buffers as the panel schedule's sm_80 kernels, on the wgmma + TMA main loop. In
// development: chosen only with INFONCE_CUDA_WGMMA=1 on a GPU of compute capability 9.0.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <functional>
#include <string>

#include "panels/panel_gradients.h"

namespace infonce::cuda {

// All panels, in order, on `stream`; T is __nv_bfloat16 or __half. On a TMA map that cannot be made,
// returns cudaErrorInvalidValue with the reason in `error`.
// Pass 1 (the statistics), all the plan's launches in order, on sm_90a (statistics_pass_sm90.cu): the
// same plan, buffers and merge order as launchStatistics with the panel loop. Errors as
// launchPanelGradientsSm90.
template <typename T>
cudaError_t launchStatisticsSm90(const LossParams<T>& params, cudaStream_t stream, std::string& error);

template <typename T>
cudaError_t launchPanelGradientsSm90(const PanelParams<T>& params, cudaStream_t stream,
                                     const std::function<void(const char*)>& mark, std::string& error);

}  // namespace infonce::cuda
