// Pass 2: every tile of S recomputed once; from it G (the softmax gradients of both directions) in
// registers, staged once in shared memory, then dU += G·V and dV += Gᵀ·U over D in chunks, and the
// block's Σ G·S for dθ.
//
// FLOPs: 2·M·N·D (the recompute) + 4·M·N·D (the two products), all on tensor cores. Bytes: besides
// the staged panels, each tile reads and writes BM×D floats of dU and BN×D of dV (exclusive by the
// plan, so plain read-modify-writes): 8·(BM + BN)·D bytes per 6·BM·BN·D FLOPs.
#include "tiles/loss_kernels.h"
#include "tiles/logit_tile.cuh"

namespace infonce::cuda {
namespace {

template <class Op, class Shape>
__global__ void __launch_bounds__(Tile<Shape>::threads)
    gradientKernel(LossParams<typename Op::Element> p, int launch) {
  using T = typename Op::Element;
  using Geometry = Tile<Shape>;
  constexpr int BM = Geometry::BM, BN = Geometry::BN, FR = Geometry::fragmentRows, FC = Geometry::fragmentCols;
  constexpr int chunk = gradientChunk(Shape::shape, sizeof(T));
  constexpr int ldG = BN + Op::pad;
  constexpr int ldChunk = chunk + Op::pad;
  // The products' warp grid: each warp owns 16 columns of the chunk and a band of rows.
  constexpr int warps = Geometry::threads / 32;
  constexpr int productWarpCols = chunk / 16;
  constexpr int productWarpRows = warps / productWarpCols;
  constexpr int productRows = BM / productWarpRows;  // rows per warp (BN = BM in both shapes)
  constexpr int productFragments = productRows / 16;
  static_assert(BM == BN, "the product warp grid assumes square tiles");

  extern __shared__ __align__(16) unsigned char shared[];
  T* stage = reinterpret_cast<T*>(shared);
  T* gTile = reinterpret_cast<T*>(shared);        // [BM][ldG], after the logits are in registers
  // Then `buffers` × { V rows of the tile [BN][ldChunk], U rows [BM][ldChunk] } for one D chunk.
  constexpr int buffers = gradientBuffers(Shape::shape, sizeof(T));
  T* const chunkBuffers = gTile + BM * ldG;
  constexpr int bufferElements = (BN + BM) * ldChunk;
  constexpr int64_t unionBytes = gradientSharedBytes(Shape::shape, sizeof(T)) - 8LL * Geometry::threads;
  double* reduction = reinterpret_cast<double*>(shared + unionBytes);

  const LaunchPlan& plan = p.plan;
  const int block = blockIdx.x;
  if (plan.stepOf(launch, block) >= plan.ranges) return;
  const int replica = plan.replicaOf(block);
  const int rowRange = plan.rowRangeOf(block), colRange = plan.colRangeOf(launch, block);
  const int64_t paddedDim = plan.paddedDim;
  float* gradU = p.gradU + int64_t(replica) * plan.paddedRows * paddedDim;
  float* gradV = p.gradV + int64_t(replica) * plan.paddedCols * paddedDim;
  const ThreadCoordinates<Shape> at;
  // G is stored divided by w_r (values of order 1, safe in fp16); the products are scaled back.
  const float productScale = p.scale * p.rowWeight;
  const float inverseRowWeight = 1.0f / p.rowWeight;
  double logScaleGradient = 0;

  for (int64_t I = plan.rowTileBegin(rowRange); I < plan.rowTileBegin(rowRange + 1); ++I) {
    for (int64_t J = plan.colTileBegin(colRange); J < plan.colTileBegin(colRange + 1); ++J) {
      const int64_t row0 = I * BM, col0 = J * BN;
      float acc[FR][FC][4];
      logitTile<Op, Shape>(acc, p.u, p.v, paddedDim, row0, col0, stage);

      // G_ij = w_r·P_ij + w_c[j]·Q_ij, and at the positive w_r·(P − 1) + w_c·(Q − 1) via expm1.
      float columnMax[FC][2], columnLogSum[FC][2], columnWeight[FC][2];
      bool colValid[FC][2];
#pragma unroll
      for (int n = 0; n < FC; ++n)
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          const int64_t j = col0 + at.col(n, q);
          colValid[n][q] = j < p.cols;
          columnMax[n][q] = colValid[n][q] ? p.colMaxMerged[j] : 0.0f;
          columnLogSum[n][q] = colValid[n][q] ? p.colLogSum[j] : 0.0f;
          columnWeight[n][q] = colValid[n][q] && p.symmetric ? p.columnWeight[j] : 0.0f;
        }
      float tileLogScale = 0.0f;
#pragma unroll
      for (int m = 0; m < FR; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int r = at.row(m, h);
          const int64_t i = row0 + r;
          const bool rowValid = i < p.rows;
          const float rowMax = rowValid ? p.rowMaxMerged[i] : 0.0f;
          const float rowLogSum = rowValid ? p.rowLogSum[i] : 0.0f;
          const int64_t target = rowValid ? p.targets[i] : -1;
#pragma unroll
          for (int n = 0; n < FC; ++n)
#pragma unroll
            for (int q = 0; q < 2; ++q) {
              const int c = at.col(n, q);
              const float s = acc[m][n][2 * h + q] * p.scale;
              float g = 0.0f;
              if (rowValid && colValid[n][q]) {
                if (col0 + c == target) {
                  double gd = double(p.rowWeight) * expm1(double(s) - p.rowLse[i]);
                  if (p.symmetric) gd += double(columnWeight[n][q]) * expm1(double(s) - p.colLse[col0 + c]);
                  g = float(gd);
                } else {
                  g = p.rowWeight * __expf((s - rowMax) - rowLogSum);
                  if (columnWeight[n][q] != 0.0f)
                    g += columnWeight[n][q] * __expf((s - columnMax[n][q]) - columnLogSum[n][q]);
                }
              }
              tileLogScale += g * s;
              gTile[r * ldG + c] = Op::fromFloat(g * inverseRowWeight);
            }
        }
      logScaleGradient += tileLogScale;

      const int productWarpRow = at.warp / productWarpCols, productWarpCol = at.warp % productWarpCols;
      const int productRow0 = productWarpRow * productRows, productCol0 = productWarpCol * 16;
      auto stageChunk = [&](int index, int buffer) {
        T* vChunk = chunkBuffers + buffer * bufferElements;
        T* uChunk = vChunk + BN * ldChunk;
        const int64_t d0 = int64_t(index) * chunk;
        stageBlock<T, Geometry::threads>(vChunk, ldChunk, p.v + col0 * paddedDim + d0, paddedDim, BN, chunk);
        stageBlock<T, Geometry::threads>(uChunk, ldChunk, p.u + row0 * paddedDim + d0, paddedDim, BM, chunk);
        copyCommit();
      };
      const int chunks = static_cast<int>(paddedDim / chunk);
      stageChunk(0, 0);
      for (int c = 0; c < chunks; ++c) {
        const int buffer = buffers == 2 ? (c & 1) : 0;
        if (buffers == 2 && c + 1 < chunks) {
          stageChunk(c + 1, (c + 1) & 1);
          copyWait<1>();
        } else {
          copyWait<0>();
        }
        __syncthreads();  // this chunk staged (and, the first time, G complete)
        const T* vChunk = chunkBuffers + buffer * bufferElements;
        const T* uChunk = vChunk + BN * ldChunk;
        const int64_t d0 = int64_t(c) * chunk;
        // dU[rows of I][d0 : d0+chunk] += G · V_chunk   (k runs over the tile's columns j)
        // dV[rows of J][d0 : d0+chunk] += Gᵀ · U_chunk  (k runs over the tile's rows i)
#pragma unroll
        for (int product = 0; product < 2; ++product) {
          float* target = product == 0 ? gradU + row0 * paddedDim : gradV + col0 * paddedDim;
          // The accumulated values are loaded before the products, so that their latency (L2 or
          // memory) hides behind the tensor-core work instead of following it.
          float2 previous[productFragments][2][2];
#pragma unroll
          for (int m = 0; m < productFragments; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h)
#pragma unroll
              for (int n = 0; n < 2; ++n)
                previous[m][h][n] = *reinterpret_cast<const float2*>(
                    target + (productRow0 + m * 16 + at.g + 8 * h) * paddedDim + d0 + productCol0 + n * 8 + 2 * at.t);
          float out[productFragments][2][4];
#pragma unroll
          for (int m = 0; m < productFragments; ++m)
#pragma unroll
            for (int n = 0; n < 2; ++n)
#pragma unroll
              for (int e = 0; e < 4; ++e) out[m][n][e] = 0.0f;
          const T* operand = product == 0 ? vChunk : uChunk;
#pragma unroll 4
          for (int k = 0; k < BN; k += Op::kStep) {
            uint32_t fa[productFragments][4], fb[2][2];
#pragma unroll
            for (int m = 0; m < productFragments; ++m) {
              if (product == 0) Op::loadA(fa[m], gTile, ldG, productRow0 + m * 16, k);
              else Op::loadATransposed(fa[m], gTile, ldG, productRow0 + m * 16, k);
            }
#pragma unroll
            for (int n = 0; n < 2; ++n) Op::loadBTransposed(fb[n], operand, ldChunk, productCol0 + n * 8, k);
#pragma unroll
            for (int m = 0; m < productFragments; ++m)
#pragma unroll
              for (int n = 0; n < 2; ++n) Op::mma(out[m][n], fa[m], fb[n]);
          }
#pragma unroll
          for (int m = 0; m < productFragments; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const int r = productRow0 + m * 16 + at.g + 8 * h;
#pragma unroll
              for (int n = 0; n < 2; ++n) {
                float2 value = previous[m][h][n];
                value.x += out[m][n][2 * h] * productScale;
                value.y += out[m][n][2 * h + 1] * productScale;
                *reinterpret_cast<float2*>(target + r * paddedDim + d0 + productCol0 + n * 8 + 2 * at.t) = value;
              }
            }
        }
        __syncthreads();  // this buffer consumed before a later chunk is staged into it
        if (buffers == 1 && c + 1 < chunks) stageChunk(c + 1, 0);
      }
      __syncthreads();  // the next tile's staging overwrites G and the chunks
    }
  }

  // Σ G·S of the block, in a fixed order.
  reduction[threadIdx.x] = logScaleGradient;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    for (int k = 0; k < Geometry::threads; ++k) total += reduction[k];
    p.logScalePartials[int64_t(launch) * plan.blocksPerLaunch() + block] = total;
  }
}

}  // namespace

template <class Op, class Shape>
cudaError_t launchGradients(const LossParams<typename Op::Element>& params, int launch, cudaStream_t stream) {
  return launchTileKernel<Shape>(gradientKernel<Op, Shape>, gradientSharedBytes(Shape::shape, sizeof(typename Op::Element)), params,
                                 launch, stream);
}

template <class Op, class Shape>
cudaError_t gradientOccupancy(int* blocksPerMultiprocessor) {
  return tileKernelOccupancy<Shape>(gradientKernel<Op, Shape>, gradientSharedBytes(Shape::shape, sizeof(typename Op::Element)),
                                    blocksPerMultiprocessor);
}

#define INFONCE_INSTANTIATE(Op, Shape)                                                                  \
  template cudaError_t launchGradients<Op, Shape>(const LossParams<Op::Element>&, int, cudaStream_t); \
  template cudaError_t gradientOccupancy<Op, Shape>(int*);
INFONCE_FOR_EACH_KERNEL(INFONCE_INSTANTIATE)
#undef INFONCE_INSTANTIATE

}  // namespace infonce::cuda
