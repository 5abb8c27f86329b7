// One exponential per logit in the G kernels (panel_gradients.cu, panel_gradients_sm90.cu), decided
// per 128 × 128 block (gradient_epilogue.h: rowTermFactor, columnTermFactor; epilogue_math.h for
// when it is exact). 256 workers (sm_80: the block's threads; sm_90a: its two consumer warpgroups)
// each read one row's or one column's statistics before the block's product, so that the loads hide
// behind it, and after the product reduce K (the largest row LSE) and the lowest weighted column LSE
// over the block and leave the 256 factors in shared memory. Two barriers of the workers, one expf
// each: next to a 128 × 128 × D product, nothing.
#pragma once

#include <stdint.h>

#include "gradient_epilogue.h"
#include "loss_params.cuh"

namespace infonce::cuda {

constexpr int kTermFactorWorkers = 256;  // 128 rows, then 128 columns

struct TermFactors {  // in shared memory
  float row[kTermFactorWorkers / 2], column[kTermFactorWorkers / 2];
  float high[kTermFactorWorkers / 32], low[kTermFactorWorkers / 32];  // per warp of workers
};

struct TermFactorInput {  // one worker's line: row `worker`, or column `worker` − 128, of the block
  double logSumExp = 0;
  float columnWeight = 0;  // w_c/M; 0 for rows, padding and columns that are no row's target
  bool valid = false;
};

template <typename T>
__device__ __forceinline__ TermFactorInput loadTermFactorInput(const LossParams<T>& loss, int64_t row0, int64_t col0,
                                                               int worker) {
  TermFactorInput in;
  if (worker < kTermFactorWorkers / 2) {
    const int64_t i = row0 + worker;
    in.valid = i < loss.rows;
    if (in.valid) in.logSumExp = loss.rowLse[i];
  } else {
    const int64_t j = col0 + worker - kTermFactorWorkers / 2;
    in.valid = j < loss.cols;
    if (in.valid) {
      in.logSumExp = loss.colLse[j];
      in.columnWeight = loss.symmetric ? loss.columnWeight[j] : 0.0f;
    }
  }
  return in;
}

// All workers call it (after the product); `barrier` syncs them. True where the block takes one
// exponential per logit: then factors.row and factors.column hold its factors.
template <class Barrier>
__device__ __forceinline__ bool blockTermFactors(const TermFactorInput& in, int worker, float rowWeight, TermFactors& factors,
                                                 Barrier barrier) {
  const bool row = worker < kTermFactorWorkers / 2;  // warp-uniform: a warp's workers are all rows or all columns
  float high = row && in.valid ? float(in.logSumExp) : -INFINITY;
  float low = !row && in.columnWeight != 0.0f ? float(in.logSumExp) : INFINITY;
  for (int mask = 1; mask < 32; mask <<= 1) {
    high = fmaxf(high, __shfl_xor_sync(0xffffffffu, high, mask));
    low = fminf(low, __shfl_xor_sync(0xffffffffu, low, mask));
  }
  if (worker % 32 == 0) {
    factors.high[worker / 32] = high;
    factors.low[worker / 32] = low;
  }
  barrier();
  float reference = -INFINITY, lowest = INFINITY;
#pragma unroll
  for (int w = 0; w < kTermFactorWorkers / 32; ++w) {
    reference = fmaxf(reference, factors.high[w]);
    lowest = fminf(lowest, factors.low[w]);
  }
  if (row)
    factors.row[worker] = in.valid ? rowTermFactor(in.logSumExp, reference) : 0.0f;
  else
    factors.column[worker - kTermFactorWorkers / 2] =
        in.valid ? columnTermFactor(in.logSumExp, in.columnWeight, rowWeight, reference) : 0.0f;
  barrier();
  return oneExponentialFits(reference, lowest);
}

// A row's merged statistics for the G epilogues, and its group (-1: none, or no masking); a padding
// row (past the last) keeps target -1, which makes its G zero.
template <typename T>
__device__ __forceinline__ RowStatistics loadRowStatistics(const LossParams<T>& loss, int64_t i, int32_t& group) {
  RowStatistics row;
  group = -1;
  if (i < loss.rows) {
    row.max = loss.rowMaxMerged[i];
    row.logSum = loss.rowLogSum[i];
    row.logSumExp = loss.rowLse[i];
    row.target = loss.targets[i];
    if (loss.rowGroups) group = loss.rowGroups[i];
  }
  return row;
}

// A column's merged statistics for gradientTerm (the G kernels' two-exponential path, and the
// positive of the one-exponential path); invalid (padding) past the last column.
template <typename T>
__device__ __forceinline__ ColumnStatistics loadColumnStatistics(const LossParams<T>& loss, int64_t j) {
  ColumnStatistics c;
  c.valid = j < loss.cols;
  if (c.valid) {
    c.max = loss.colMaxMerged[j];
    c.logSum = loss.colLogSum[j];
    c.logSumExp = loss.colLse[j];
    c.weight = loss.symmetric ? loss.columnWeight[j] : 0.0f;
  }
  return c;
}

}  // namespace infonce::cuda
