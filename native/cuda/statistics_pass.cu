// Pass 1: every tile of S once; from it, each row's and each column's running max and Σ exp(S − max)
// (both directions from the same tile), and the positives' logits.
//
// FLOPs: 2·M·N·D (tensor cores) + ~2 exp per logit. Bytes: the staged panels of U and V; the
// statistics are O(M + N) read-modify-writes per tile row/column, exclusive by the plan.
#include "loss_kernels.h"
#include "logit_tile.cuh"

namespace infonce::cuda {
namespace {

template <class Op, class Shape>
__global__ void __launch_bounds__(Tile<Shape>::threads)
    statisticsKernel(LossParams<typename Op::Element> p, int launch) {
  using T = typename Op::Element;
  using Geometry = Tile<Shape>;
  constexpr int BM = Geometry::BM, BN = Geometry::BN, FR = Geometry::fragmentRows, FC = Geometry::fragmentCols;
  extern __shared__ __align__(16) unsigned char shared[];
  T* stage = reinterpret_cast<T*>(shared);
  constexpr int stageBytes = 2 * (BM + BN) * (Geometry::depthChunk + Op::pad) * sizeof(T);
  float* rowRedMax = reinterpret_cast<float*>(shared + stageBytes);  // [warpCols][BM]
  float* rowRedSum = rowRedMax + Geometry::warpCols * BM;
  float* rowRedTies = rowRedSum + Geometry::warpCols * BM;
  float* colRedMax = rowRedTies + Geometry::warpCols * BM;           // [warpRows][BN]
  float* colRedSum = colRedMax + Geometry::warpRows * BN;
  float* colRedTies = colRedSum + Geometry::warpRows * BN;

  const LaunchPlan& plan = p.plan;
  const int block = blockIdx.x;
  if (plan.stepOf(launch, block) >= plan.ranges) return;  // the last launch may have idle replicas
  const int replica = plan.replicaOf(block);
  const int rowRange = plan.rowRangeOf(block), colRange = plan.colRangeOf(launch, block);
  float* rowMax = p.rowMax + replica * p.rows;
  double* rowSum = p.rowSum + replica * p.rows;
  float* colMax = p.colMax + replica * p.cols;
  double* colSum = p.colSum + replica * p.cols;
  const ThreadCoordinates<Shape> at;
  const int64_t paddedDim = plan.paddedDim;

  for (int64_t I = plan.rowTileBegin(rowRange); I < plan.rowTileBegin(rowRange + 1); ++I) {
    for (int64_t J = plan.colTileBegin(colRange); J < plan.colTileBegin(colRange + 1); ++J) {
      const int64_t row0 = I * BM, col0 = J * BN;
      float acc[FR][FC][4];
      logitTile<Op, Shape>(acc, p.u, p.v, paddedDim, row0, col0, stage);
      bool rowValid[FR][2], colValid[FC][2];
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) rowValid[m][h] = row0 + at.row(m, h) < p.rows;
#pragma unroll
      for (int n = 0; n < FC; ++n)
#pragma unroll
        for (int q = 0; q < 2; ++q) colValid[n][q] = col0 + at.col(n, q) < p.cols;
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int n = 0; n < FC; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[m][n][e] *= p.scale;

      // The positives (each in exactly one tile, so one writer).
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          if (!rowValid[m][h]) continue;
          const int64_t i = row0 + at.row(m, h);
          const int32_t target = p.targets[i];
#pragma unroll
          for (int n = 0; n < FC; ++n)
#pragma unroll
            for (int q = 0; q < 2; ++q)
              if (col0 + at.col(n, q) == target) p.positive[i] = acc[m][n][2 * h + q];
        }

      // Rows: tile max per row (lanes of a quad share a row, warps along the columns via shared
      // memory), then Σ exp(S − max) of the terms below it plus the count of ties (exact).
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float mx = -INFINITY;
#pragma unroll
          for (int n = 0; n < FC; ++n)
#pragma unroll
            for (int q = 0; q < 2; ++q)
              if (colValid[n][q]) mx = fmaxf(mx, acc[m][n][2 * h + q]);
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          if (at.t == 0) rowRedMax[at.warpCol * BM + at.row(m, h)] = mx;
        }
      // Columns: tile max per column (the 8 groups of a warp share a column, warps along the rows).
#pragma unroll
      for (int n = 0; n < FC; ++n)
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          float mx = -INFINITY;
#pragma unroll
          for (int m = 0; m < FR; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h)
              if (rowValid[m][h]) mx = fmaxf(mx, acc[m][n][2 * h + q]);
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 8));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 16));
          if (at.g == 0) colRedMax[at.warpRow * BN + at.col(n, q)] = mx;
        }
      __syncthreads();
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int r = at.row(m, h);
          float tileMax = -INFINITY;
#pragma unroll
          for (int w = 0; w < Geometry::warpCols; ++w) tileMax = fmaxf(tileMax, rowRedMax[w * BM + r]);
          float below = 0.0f, ties = 0.0f;
#pragma unroll
          for (int n = 0; n < FC; ++n)
#pragma unroll
            for (int q = 0; q < 2; ++q) {
              const float s = acc[m][n][2 * h + q];
              if (!colValid[n][q]) continue;
              if (s < tileMax) below += __expf(s - tileMax);
              else ties += 1.0f;
            }
#pragma unroll
          for (int mask = 1; mask <= 2; mask <<= 1) {
            below += __shfl_xor_sync(0xffffffffu, below, mask);
            ties += __shfl_xor_sync(0xffffffffu, ties, mask);
          }
          if (at.t == 0) {
            rowRedSum[at.warpCol * BM + r] = below;
            rowRedTies[at.warpCol * BM + r] = ties;
          }
        }
#pragma unroll
      for (int n = 0; n < FC; ++n)
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          const int c = at.col(n, q);
          float tileMax = -INFINITY;
#pragma unroll
          for (int w = 0; w < Geometry::warpRows; ++w) tileMax = fmaxf(tileMax, colRedMax[w * BN + c]);
          float below = 0.0f, ties = 0.0f;
#pragma unroll
          for (int m = 0; m < FR; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float s = acc[m][n][2 * h + q];
              if (!rowValid[m][h]) continue;
              if (s < tileMax) below += __expf(s - tileMax);
              else ties += 1.0f;
            }
#pragma unroll
          for (int mask = 4; mask <= 16; mask <<= 1) {
            below += __shfl_xor_sync(0xffffffffu, below, mask);
            ties += __shfl_xor_sync(0xffffffffu, ties, mask);
          }
          if (at.g == 0) {
            colRedSum[at.warpRow * BN + c] = below;
            colRedTies[at.warpRow * BN + c] = ties;
          }
        }
      __syncthreads();
      // One thread per row and per column merges the tile into the running state, in warp order.
      if (threadIdx.x < BM && row0 + threadIdx.x < p.rows) {
        const int r = threadIdx.x;
        float tileMax = -INFINITY;
        double tileSum = 0;
#pragma unroll
        for (int w = 0; w < Geometry::warpCols; ++w) tileMax = fmaxf(tileMax, rowRedMax[w * BM + r]);
#pragma unroll
        for (int w = 0; w < Geometry::warpCols; ++w) {
          // Each warp's sum is relative to the tile max already (all warps used the same max).
          tileSum += double(rowRedTies[w * BM + r]) + double(rowRedSum[w * BM + r]);
        }
        mergeLogSumExp(rowMax[row0 + r], rowSum[row0 + r], tileMax, tileSum);
      }
      if (threadIdx.x < BN && col0 + threadIdx.x < p.cols) {
        const int c = threadIdx.x;
        float tileMax = -INFINITY;
        double tileSum = 0;
#pragma unroll
        for (int w = 0; w < Geometry::warpRows; ++w) tileMax = fmaxf(tileMax, colRedMax[w * BN + c]);
#pragma unroll
        for (int w = 0; w < Geometry::warpRows; ++w) tileSum += double(colRedTies[w * BN + c]) + double(colRedSum[w * BN + c]);
        mergeLogSumExp(colMax[col0 + c], colSum[col0 + c], tileMax, tileSum);
      }
      // The reduction arrays are next written after logitTile's barriers: no barrier needed here.
    }
  }
}

}  // namespace

template <class Op, class Shape>
cudaError_t launchStatistics(const LossParams<typename Op::Element>& params, int launch, cudaStream_t stream) {
  return launchTileKernel<Shape>(statisticsKernel<Op, Shape>, statisticsSharedBytes(Shape::shape, sizeof(typename Op::Element)), params,
                                 launch, stream);
}

template <class Op, class Shape>
cudaError_t statisticsOccupancy(int* blocksPerMultiprocessor) {
  return tileKernelOccupancy<Shape>(statisticsKernel<Op, Shape>, statisticsSharedBytes(Shape::shape, sizeof(typename Op::Element)),
                                    blocksPerMultiprocessor);
}

#define INFONCE_INSTANTIATE(Op, Shape)                                                                   \
  template cudaError_t launchStatistics<Op, Shape>(const LossParams<Op::Element>&, int, cudaStream_t); \
  template cudaError_t statisticsOccupancy<Op, Shape>(int*);
INFONCE_FOR_EACH_KERNEL(INFONCE_INSTANTIATE)
#undef INFONCE_INSTANTIATE

}  // namespace infonce::cuda
