// The panel schedule of the GPU gradient pass: plain C++, shared by the CUDA host code, the host
// emulation (panel_emulation.cpp) and the CPU addon's test hooks, so that its arithmetic is checked
// on machines without a GPU.
//
// Rows of S go in panels of P rows. For each panel, three GEMM-shaped kernels (panel_gradients.cu):
//   (B) G = the softmax gradient terms of a recomputed S_panel = U_panel·Vᵀ, stored in 16 bits
//       (P × N: the one buffer that grows with N, bounded by memoryBudget), and Σ G·S for dθ;
//   (C) dU_panel = s·G·V, split along N into `splits` ranges when the panel alone has too few output
//       blocks to fill the GPU, the split partials summed in split order;
//   (D) dV += s·Gᵀ·U_panel, in place, panel after panel.
// Every output block has exactly one writer in each launch and every sum runs in an order fixed by
// this plan, which depends on the shape and the budget only (never on free memory or the GPU): the
// result is bit-identical run to run, with no float atomics.
#pragma once

#include <cstdint>

namespace infonce::cuda {

// The block tile of all three GEMMs: 128 × 128 outputs, K in steps of 32 (panel_gemm.cuh).
constexpr int64_t kPanelTile = 128;
constexpr int64_t kPanelDepthStep = 32;
// Enough output blocks for two waves on the largest GPUs (132 SMs × 2 resident blocks): below it,
// dU is split along N. A constant, not the device's SM count, so that the plan, and the summation
// order with it, is the same on every GPU.
constexpr int64_t kPanelTargetBlocks = 264;
// G is stored as (g / w_r)·2¹⁴: values of order P_ij·2¹⁴ (so fp16 keeps softmax probabilities down to
// 2⁻²⁴·2⁻¹⁴ ≈ 4·10⁻¹² as subnormals and 6·10⁻⁵·2⁻¹⁴ ≈ 4·10⁻⁹ at full precision, where unscaled it
// lost everything under 6·10⁻⁸: the tails at N ≥ 16k), and |G| ≤ 2·2¹⁴ < 65504, fp16's largest.
// A power of two: the scaling itself is exact.
constexpr float kGradientStorageScale = 16384.0f;

// The panel GEMMs' shared memory (panel_gemm.cuh): kPanelStages slices of A and of B, 16-bit
// elements, each row padded by 8 elements (16 bytes) against bank conflicts. A slice is 128 × 32
// when K is its contiguous index, 32 × 128 otherwise.
constexpr int64_t kPanelStages = 4;
constexpr int64_t kPanelSharedPad = 8;
constexpr int64_t panelStageElements(bool kContiguous) {
  return kContiguous ? kPanelTile * (kPanelDepthStep + kPanelSharedPad) : kPanelDepthStep * (kPanelTile + kPanelSharedPad);
}
constexpr int64_t panelSharedBytes(bool aKContiguous, bool bKContiguous) {
  return kPanelStages * (panelStageElements(aKContiguous) + panelStageElements(bKContiguous)) * 2;
}
// The three kernels: G (U·Vᵀ: both K-contiguous), dU (G·V: B is not), dV (Gᵀ·U: neither is).
constexpr int64_t kTermsSharedBytes = panelSharedBytes(true, true);
constexpr int64_t kRowGradientSharedBytes = panelSharedBytes(true, false);
constexpr int64_t kColumnGradientSharedBytes = panelSharedBytes(false, false);

// Member functions are constexpr so that device code may call them (--expt-relaxed-constexpr).
struct PanelPlan {
  int64_t rows = 0, cols = 0, dim = 0;
  int64_t paddedRows = 0, paddedCols = 0, paddedDim = 0;  // multiples of kPanelTile
  int64_t panelRows = 0;   // P, a multiple of kPanelTile
  int64_t panels = 0;      // ceil(paddedRows / P); the last may be shorter
  int64_t splits = 1;      // ranges of N in the dU product
  int64_t gradientBytes = 0;   // the G buffer: P × paddedCols × 2
  int64_t workspaceBytes = 0;  // split partials of dU: splits × P × paddedDim × 4 (0 when splits = 1)

  constexpr int64_t rowTiles() const { return paddedRows / kPanelTile; }
  constexpr int64_t colTiles() const { return paddedCols / kPanelTile; }
  constexpr int64_t dimTiles() const { return paddedDim / kPanelTile; }
  constexpr int64_t panelBegin(int64_t panel) const { return panel * panelRows; }
  constexpr int64_t panelHeight(int64_t panel) const {
    const int64_t end = panelBegin(panel) + panelRows;
    return (end < paddedRows ? end : paddedRows) - panelBegin(panel);
  }
  // Split s of dU covers columns [splitBegin(s), splitBegin(s + 1)) of G, whole depth steps.
  constexpr int64_t splitBegin(int64_t split) const {
    const int64_t steps = paddedCols / kPanelDepthStep;
    return steps * split / splits * kPanelDepthStep;
  }
  // dθ partials: one per block of kernel (B), panel after panel.
  constexpr int64_t logScalePartials() const { return rowTiles() * colTiles(); }
  constexpr int64_t logScalePartialOffset(int64_t panel) const { return panelBegin(panel) / kPanelTile * colTiles(); }

  // Where each kernel's block (x, y, z) writes: the offset (elements) of its 128 × 128 output block's
  // first element; the block's rows follow at the buffer's row stride. The kernels call these, and
  // the tests check them for one writer per block and bounds at the largest shapes.
  // (B) into G (panelRows × paddedCols): x = column tile, y = row tile within the panel.
  constexpr int64_t termsOffset(int64_t x, int64_t y) const { return y * kPanelTile * paddedCols + x * kPanelTile; }
  // (C) into dU (paddedRows × paddedDim), or into split y's slice of the workspace when splits > 1:
  // x = D tile, y = row tile within the panel, z = split.
  constexpr int64_t rowGradientOffset(int64_t panel, int64_t x, int64_t y, int64_t z) const {
    return splits > 1 ? (z * panelRows + y * kPanelTile) * paddedDim + x * kPanelTile
                      : (panelBegin(panel) + y * kPanelTile) * paddedDim + x * kPanelTile;
  }
  // (D) into dV (paddedCols × paddedDim): x = D tile, y = column tile.
  constexpr int64_t columnGradientOffset(int64_t x, int64_t y) const { return y * kPanelTile * paddedDim + x * kPanelTile; }
};

// The grids of one panel's three launches (x, y, z blocks).
struct PanelGrids {
  int64_t terms[3], rowGradient[3], columnGradient[3];
};
inline PanelGrids panelGrids(const PanelPlan& plan, int64_t panel) {
  const int64_t rowTiles = plan.panelHeight(panel) / kPanelTile;
  return {{plan.colTiles(), rowTiles, 1}, {plan.dimTiles(), rowTiles, plan.splits}, {plan.dimTiles(), plan.colTiles(), 1}};
}

inline int64_t roundUpTo(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// The smallest budget the schedule can keep to: one panel of kPanelTile rows of G.
inline int64_t minimumPanelBudget(int64_t cols) { return kPanelTile * roundUpTo(cols, kPanelTile) * 2; }

// budgetBytes bounds the G buffer (the caller checks it is at least minimumPanelBudget(cols)).
inline PanelPlan planPanels(int64_t rows, int64_t cols, int64_t dim, int64_t budgetBytes) {
  PanelPlan plan;
  plan.rows = rows;
  plan.cols = cols;
  plan.dim = dim;
  plan.paddedRows = roundUpTo(rows, kPanelTile);
  plan.paddedCols = roundUpTo(cols, kPanelTile);
  plan.paddedDim = roundUpTo(dim, kPanelTile);
  int64_t panelRows = budgetBytes / (2 * plan.paddedCols) / kPanelTile * kPanelTile;
  if (panelRows < kPanelTile) panelRows = kPanelTile;
  if (panelRows > plan.paddedRows) panelRows = plan.paddedRows;
  plan.panelRows = panelRows;
  plan.panels = (plan.paddedRows + panelRows - 1) / panelRows;
  const int64_t outputBlocks = (panelRows / kPanelTile) * plan.dimTiles();
  int64_t splits = (kPanelTargetBlocks + outputBlocks - 1) / outputBlocks;
  // Each split keeps at least 8 depth steps (256 columns): shorter ones cost more in the
  // partials' traffic than they gain in parallelism.
  const int64_t maxSplits = plan.paddedCols / (8 * kPanelDepthStep);
  if (splits > maxSplits) splits = maxSplits;
  plan.splits = splits < 1 ? 1 : splits;
  plan.gradientBytes = panelRows * plan.paddedCols * 2;
  plan.workspaceBytes = plan.splits > 1 ? plan.splits * panelRows * plan.paddedDim * 4 : 0;
  return plan;
}

}  // namespace infonce::cuda
