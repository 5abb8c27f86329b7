// Host-side declaration of the panel gradient pass (panel_gradients.cu; the schedule is in
// panel_plan.h). Experimental: chosen only with INFONCE_CUDA_PANEL=1 until a GPU run has checked it
// against the float64 reference (see README, "GPU").
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include <functional>

#include "loss_params.cuh"
#include "schedule/panel_plan.h"

namespace infonce::cuda {

// What the panel kernels read beyond the tile passes' parameters: the panel plan and its buffers.
template <typename T>
struct PanelParams {
  LossParams<T> loss;        // u, v, targets, the merged statistics, gradU, gradV, logScalePartials
  PanelPlan plan;
  T* gradientTerms;          // plan.panelRows × paddedCols: G of the current panel, times kGradientStorageScale / w_r
  float* workspace;          // plan.splits × panelRows × paddedDim: the split partials of dU (when splits > 1)
};

// All panels of the gradient pass, in order, on `stream`. T is __nv_bfloat16 or __half (Op: the
// operand types of operand_types.cuh). Needs sm_80 or newer.
// `mark` is called after each launch with the kernel's name (INFONCE_CUDA_PROFILE times them).
template <class Op>
cudaError_t launchPanelGradients(const PanelParams<typename Op::Element>& params, cudaStream_t stream,
                                 const std::function<void(const char*)>& mark);

// dU of panel `panelIndex` = the split partials in `workspace` summed in split order (when splits > 1);
// shared by the sm_80 and sm_90a passes.
cudaError_t launchSumSplits(const PanelPlan& plan, int64_t panelIndex, const float* workspace, float* gradU,
                            cudaStream_t stream);

}  // namespace infonce::cuda
