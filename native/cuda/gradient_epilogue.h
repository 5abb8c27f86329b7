// The epilogue of the panel gradient kernel: from one logit S_ij and the merged statistics of its row
// and column, the gradient term G_ij (both directions), as written out in the README (The loss):
//   G_ij = w_r·P_ij + w_c[j]·Q_ij,  and at the positive  w_r·(P − 1) + w_c·(Q − 1)  via expm1
// (P − 1 as a difference of two numbers near 1 would cancel). Plain C++ that compiles for the device
// and for the host: the host emulation (panel_emulation.cpp) runs this same code against the float64
// reference in the tests, on machines without a GPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "epilogue_math.h"

namespace infonce::cuda {

struct RowStatistics {
  float max = 0, logSum = 0;  // the merged running max and log Σ exp(S − max)
  double logSumExp = 0;       // max + logSum in double, for the positive's expm1
  int64_t target = -1;        // t(i); -1 for a padding row
};

struct ColumnStatistics {
  float max = 0, logSum = 0;
  double logSumExp = 0;
  float weight = 0;           // w_c / M where the column is some row's target (symmetric), else 0
  bool valid = false;         // false for a padding column
};

// False-negative masking (the loss's `groups`): logit (i, j) leaves both softmaxes when row i and
// column j share a group (≥ 0) and j is not row i's target. The statistics pass replaces such a logit
// by kMaskedLogit (finite, as on the CPU: a tile line of nothing but masked logits keeps finite
// statistics, and its exp vanishes once merged with any real logit); the gradient pass gives it G = 0.
// Padding rows and columns pass group -1 (no group).
constexpr float kMaskedLogit = -1e30f;

INFONCE_EPILOGUE bool maskedByGroups(int32_t rowGroup, int32_t columnGroup, int64_t column, int64_t target) {
  return rowGroup >= 0 && rowGroup == columnGroup && column != target;
}

// G_ij for S_ij = s (already multiplied by exp(θ)), in units of w_r: the caller multiplies by w_r
// (or stores it scaled, see kGradientStorageScale). 0 for padding rows and columns.
INFONCE_EPILOGUE float gradientTerm(float s, int64_t column, const RowStatistics& row, const ColumnStatistics& col,
                                    float rowWeight) {
  if (row.target < 0 || !col.valid) return 0.0f;
  if (column == row.target) {
    double g = double(rowWeight) * expm1(double(s) - row.logSumExp);
    if (col.weight != 0.0f) g += double(col.weight) * expm1(double(s) - col.logSumExp);
    return float(g / double(rowWeight));
  }
  float g = fastExp((s - row.max) - row.logSum);
  if (col.weight != 0.0f) g += (col.weight / rowWeight) * fastExp((s - col.max) - col.logSum);
  return g;
}

// One exponential per logit for G (epilogue_math.h), by blocks of rows and columns: with K the
// largest row LSE of the block, (w_c/w_r)·Q_ij = P_ij·(w_c/w_r)·exp(LSE_i − colLSE_j)
//                                            = P_ij·rowTermFactor_i·columnTermFactor_j,
// so G_ij/w_r = P_ij·(1 + rowTermFactor_i·columnTermFactor_j). The block takes it when every weighted
// column's LSE is within kOneExponentialSpread below K (oneExponentialFits); a row whose factor
// underflows has LSE_i < K − 87, so its column terms are below e⁻⁴⁷ of its P terms. The factors are
// precise expf (one per line of the block); the per-logit exponential is fastExp, as in gradientTerm.
INFONCE_EPILOGUE float rowTermFactor(double rowLogSumExp, float reference) {
  return expf(float(rowLogSumExp) - reference);
}
INFONCE_EPILOGUE float columnTermFactor(double columnLogSumExp, float columnWeight, float rowWeight, float reference) {
  return columnWeight == 0.0f ? 0.0f : (columnWeight / rowWeight) * expf(reference - float(columnLogSumExp));
}
// G_ij in units of w_r for a negative (j ≠ t(i)) of a block that took one exponential; the positive
// keeps gradientTerm (its expm1 needs the column's LSE). 0 for padding rows and columns.
INFONCE_EPILOGUE float negativeTermOneExp(float s, const RowStatistics& row, bool columnValid, float rowFactor,
                                          float columnFactor) {
  if (row.target < 0 || !columnValid) return 0.0f;
  return fastExp((s - row.max) - row.logSum) * fmaf(rowFactor, columnFactor, 1.0f);
}

// The factor that turns a stored G (in units of w_r, times storageScale) into s·G for the products
// dU = s·G·V and dV = s·Gᵀ·U: one expression for the kernels and their host emulation, in the
// kernels' float arithmetic.
INFONCE_EPILOGUE float gradientProductScale(float scale, float rowWeight, float storageScale) {
  return scale * rowWeight / storageScale;
}

}  // namespace infonce::cuda
