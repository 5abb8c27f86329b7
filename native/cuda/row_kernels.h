// Launchers of the row-wise kernels around the two passes: normalisation forward and backward,
// merging the replicated statistics, the loss terms, conversions between dtypes. Each is O((M+N)·D)
// or less: memory-bound, a small fraction of the passes' O(M·N·D).
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "infonce_cuda_abi.h"

namespace infonce::cuda {

// u[r] = x[r] / max(‖x[r]‖, 1e-12) as `outType`, rows padded with zeros to paddedRows × paddedDim;
// norm[r] = ‖x[r]‖; *firstBadRow = the smallest row with a non-finite entry (left as is if none).
cudaError_t normalizeRows(const void* x, InfonceDtype inType, int64_t rows, int64_t dim, void* u, InfonceDtype outType,
                          int64_t paddedRows, int64_t paddedDim, double* norm, unsigned long long* firstBadRow,
                          cudaStream_t stream);

// out[r] = (g − u⟨u, g⟩) / ‖x‖ (or g / ε below ε) with g = Σ_p grad[p][r] over the replicas.
cudaError_t normalizationBackward(const float* grad, int replicas, int64_t paddedRows, int64_t paddedDim,
                                  const void* x, InfonceDtype inType, const double* norm, int64_t rows, int64_t dim,
                                  float* out, cudaStream_t stream);

cudaError_t fill(float* data, int64_t count, float value, cudaStream_t stream);
// targets[i] = i.
cudaError_t identityTargets(int32_t* targets, int64_t rows, cudaStream_t stream);
// weight[targets[i]] = value for every row (weight zeroed first by the caller).
cudaError_t markTargets(const int32_t* targets, int64_t rows, float* weight, float value, cudaStream_t stream);

// Merges `replicas` streaming log-sum-exp states of n entries into max, log Σ and max + log Σ.
cudaError_t mergeStatistics(const float* max, const double* sum, int replicas, int64_t n, float* maxOut,
                            float* logSumOut, double* lseOut, cudaStream_t stream);

// A shard's column statistics rescaled to the batch's column maxima (for an all-reduce sum):
// share[j] = exp(lse[j] − globalMax[j]) = Σ_rank's rows exp(S − globalMax[j]); 0 for a column with
// no entry on this shard (lse = −∞).
cudaError_t shareOfColumns(const double* lse, const float* globalMax, int64_t n, double* share, cudaStream_t stream);

// Sums (in a fixed order) the loss, accuracy and by-product terms over the rows into out[0..5]:
// Σ(rowLse − pos), Σ(colLse[t] − pos), row hits, column hits, Σ pos, Σ rowLse.
cudaError_t lossTerms(const int32_t* targets, const float* positive, const double* rowLse, const double* colLse,
                      const float* rowMax, const float* colMax, int64_t rows, double* out, cudaStream_t stream);
// *out = Σ values (fixed order).
cudaError_t sumDoubles(const double* values, int64_t count, double* out, cudaStream_t stream);

// dtype ⇄ fp32 on the device.
cudaError_t convertFromFloat(const float* in, void* out, InfonceDtype outType, int64_t count, cudaStream_t stream);
cudaError_t convertToFloat(const void* in, InfonceDtype inType, float* out, int64_t count, cudaStream_t stream);

}  // namespace infonce::cuda
