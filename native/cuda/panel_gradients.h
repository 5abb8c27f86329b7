// Host-side declaration of the panel gradient pass (panel_gradients.cu; the schedule is in
// panel_plan.h). Experimental: chosen only with INFONCE_CUDA_PANEL=1 until a GPU run has checked it
// against the float64 reference (see README, "GPU").
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include <functional>

#include "schedule/panel_plan.h"

namespace infonce::cuda {

template <typename T>
struct PanelParams {
  const T* u;  // normalised queries, paddedRows × paddedDim (zero padding)
  const T* v;  // normalised documents, paddedCols × paddedDim
  PanelPlan plan;
  const int32_t* targets;     // rows entries
  const float* columnWeight;  // w_c / M for target columns, 0 elsewhere (cols entries)
  float scale;                // s = exp(θ)
  float rowWeight;            // w_r / M
  int symmetric;
  // The merged statistics of pass 1.
  const float* rowMax;
  const float* rowLogSum;
  const double* rowLse;
  const float* colMax;
  const float* colLogSum;
  const double* colLse;
  T* gradientTerms;          // plan.panelRows × paddedCols: G of the current panel, times kGradientStorageScale / w_r
  float* workspace;          // plan.splits × panelRows × paddedDim: the split partials of dU (when splits > 1)
  float* gradU;              // paddedRows × paddedDim: dL/du, written
  float* gradV;              // paddedCols × paddedDim: dL/dv, written by panel 0, accumulated by the others
  double* logScalePartials;  // plan.logScalePartials(): Σ G·S of each (row tile, column tile)
};

// All panels of the gradient pass, in order, on `stream`. T is __nv_bfloat16 or __half (Op: the
// operand types of operand_types.cuh). Needs sm_80 or newer.
// `mark` is called after each launch with the kernel's name (INFONCE_CUDA_PROFILE times them).
template <class Op>
cudaError_t launchPanelGradients(const PanelParams<typename Op::Element>& params, cudaStream_t stream,
                                 const std::function<void(const char*)>& mark);

}  // namespace infonce::cuda
