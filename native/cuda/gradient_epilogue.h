// The epilogue of the panel gradient kernel: from one logit S_ij and the merged statistics of its row
// and column, the gradient term G_ij (both directions), as written out in the README (The loss):
//   G_ij = w_r·P_ij + w_c[j]·Q_ij,  and at the positive  w_r·(P − 1) + w_c·(Q − 1)  via expm1
// (P − 1 as a difference of two numbers near 1 would cancel). Plain C++ that compiles for the device
// and for the host: the host emulation (panel_emulation.cpp) runs this same code against the float64
// reference in the tests, on machines without a GPU.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define INFONCE_EPILOGUE __host__ __device__ __forceinline__
#else
#define INFONCE_EPILOGUE inline
#endif

namespace infonce::cuda {

// exp(x) of a float: the fast hardware approximation on the device (2 ulp; these terms are below 1
// and feed a 16-bit G), the library's on the host.
INFONCE_EPILOGUE float fastExp(float x) {
#ifdef __CUDA_ARCH__
  return __expf(x);
#else
  return std::exp(x);
#endif
}

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

// The factor that turns a stored G (in units of w_r, times storageScale) into s·G for the products
// dU = s·G·V and dV = s·Gᵀ·U: one expression for the kernels and their host emulation, in the
// kernels' float arithmetic.
INFONCE_EPILOGUE float gradientProductScale(float scale, float rowWeight, float storageScale) {
  return scale * rowWeight / storageScale;
}

}  // namespace infonce::cuda
