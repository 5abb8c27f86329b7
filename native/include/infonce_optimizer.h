// The optimiser of the trainer: AdamW on (sparse) rows of a parameter table, and the squared norm
// that gradient clipping needs.
#pragma once

#include <cstdint>

namespace infonce {

// AdamW (decoupled weight decay) on the listed rows of a table (all rows when rows is null), with
// the bias corrections of step `step` (1-based). m and v have the table's shape.
struct AdamW {
  double learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01;
  int64_t step = 1;
  double gradientScale = 1;  // multiplies every gradient first (clipping)
};
void adamwRows(const AdamW& o, float* table, float* m, float* v, int64_t width, const int32_t* rows, int64_t count,
               const float* grads, int threads);

// Σ x² in double (for the global gradient norm of clipping).
double sumOfSquares(const float* x, int64_t n);

}  // namespace infonce
