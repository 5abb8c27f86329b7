// The GPU's panel gradient pass run on the host, for tests on machines without a GPU: the same
// schedule (panel_plan.h) and the same epilogue code (gradient_epilogue.h) as panel_gradients.cu,
// with the products done by scalar loops and the 16-bit roundings of U, V and G emulated bit for
// bit. It checks everything about the panel pass except the tensor-core main loop (panel_gemm.cuh),
// which only a GPU run can check.
#pragma once

#include <cstdint>

#include "infonce.h"

namespace infonce::cuda {

enum class EmulatedStorage { BFloat16, Float16 };

// The part of a 128 × 128 tile of S one warp reduces in the statistics pass, which decides there
// between one and two exponentials per logit (epilogue_math.h): 64 rows × 32 columns on the sm_80
// main loop, 16 × 128 on the sm_90a one, 32 × 64 on the sm_100a one.
struct WarpPart {
  int64_t rows = 64, cols = 32;
};

// How often each pass took one exponential per logit and how often two: warp parts of the
// statistics tiles that hold a real row and a real column, blocks of the G kernel.
struct EpilogueCounts {
  int64_t statisticsOneExponential = 0, statisticsTwoExponentials = 0;
  int64_t termsOneExponential = 0, termsTwoExponentials = 0;
};

struct PanelEmulation {
  EmulatedStorage storage = EmulatedStorage::BFloat16;
  int64_t memoryBudget = int64_t(1) << 30;  // bounds the G panel, as on the GPU
  float storageScale = 0;                   // 0: kGradientStorageScale (tests compare with 1: unscaled)
  WarpPart statisticsPart;                  // sm_80's by default
  bool oneExponential = true;               // false: two exponentials everywhere (the comparison)
};

// Fills `result` (gradX, gradY caller-owned, as for the CPU kernels). Throws Error.
EpilogueCounts emulatePanelLoss(const LossProblem& problem, const PanelEmulation& emulation, LossResult& result);

// Round-to-nearest-even to bf16 and to fp16 (subnormals included), back as float.
float roundToBFloat16(float value);
float roundToFloat16(float value);

}  // namespace infonce::cuda
