// The arguments of the two passes: device pointers and the launch plan, passed by value.
#pragma once

#include <stdint.h>

#include "schedule/launch_plan.h"

namespace infonce::cuda {

template <typename T>
struct LossParams {
  const T* u;  // normalised queries, paddedRows × paddedDim (zero padding)
  const T* v;  // normalised documents, paddedCols × paddedDim
  int64_t rows, cols;
  LaunchPlan plan;
  const int32_t* targets;         // rows entries
  const float* columnWeight;      // w_c / M for target columns, 0 elsewhere (cols entries)
  const int32_t* rowGroups;       // rows entries, or null: no masking (gradient_epilogue.h, maskedByGroups)
  const int32_t* columnGroups;    // cols entries, set with rowGroups; read by the panel kernels only
  float scale;                    // s = exp(θ)
  float rowWeight;                // w_r / M
  int symmetric;
  int oneExponential;             // the panel kernels may take one exponential per logit (epilogue_math.h)

  // Pass 1 writes (one replica per concurrent step): running max and Σ exp(S − max).
  float* rowMax;      // replicas × rows
  double* rowSum;
  float* colMax;      // replicas × cols
  double* colSum;
  float* positive;    // rows: S_{i,t(i)}

  // Pass 2 reads the merged statistics...
  const float* rowMaxMerged;
  const float* rowLogSum;     // log Σ, beside the max: (S − max) − logΣ keeps P ≈ 1 exact
  const double* rowLse;       // max + logΣ in double, for the positives' expm1
  const float* colMaxMerged;
  const float* colLogSum;
  const double* colLse;
  // ...and accumulates, one replica per concurrent step:
  float* gradU;               // replicas × paddedRows × paddedDim: dL/du
  float* gradV;               // replicas × paddedCols × paddedDim
  double* logScalePartials;   // launches × blocksPerLaunch: Σ G·S of each block
};

// What a block of pass 1 owns in one launch (launch_plan.h): its row range, its column range for
// this launch, and its replica's running statistics (one writer per row and column). Both statistics
// kernels (statistics_pass.cu, statistics_pass_sm90.cu) start from it.
struct BlockStatistics {
  int rowRange, colRange;
  float* rowMax;
  double* rowSum;
  float* colMax;
  double* colSum;
};

#ifdef __CUDACC__
template <typename T>
__device__ __forceinline__ BlockStatistics blockStatistics(const LossParams<T>& p, int launch, int block) {
  const int replica = p.plan.replicaOf(block);
  return {p.plan.rowRangeOf(block), p.plan.colRangeOf(launch, block), p.rowMax + replica * p.rows,
          p.rowSum + replica * p.rows, p.colMax + replica * p.cols, p.colSum + replica * p.cols};
}
#endif

}  // namespace infonce::cuda
