// Device code shared by both passes: the block's tile geometry, staging of U and V through shared
// memory, and the product S = U·Vᵀ of one BM×BN tile (fp32 accumulators in registers).
//
// FLOPs per tile: 2·BM·BN·D on tensor cores. Bytes: (BM + BN)·D elements read from global memory
// (L2-resident for the block's next tiles), staged in chunks of depthChunk elements, double-buffered
// with cp.async on sm_80+ (plain loads on Turing).
#pragma once

#include <stdint.h>

#include "epilogue_math.h"  // mergeLogSumExp
#include "schedule/launch_plan.h"
#include "operand_types.cuh"

namespace infonce::cuda {

struct LargeTiles {
  static constexpr TileShape shape = kLargeTiles;
};
struct SmallTiles {
  static constexpr TileShape shape = kSmallTiles;
};

template <class Shape>
struct Tile {
  static constexpr int BM = Shape::shape.rows;
  static constexpr int BN = Shape::shape.cols;
  static constexpr int warpRows = Shape::shape.warpRows;
  static constexpr int warpCols = Shape::shape.warpCols;
  static constexpr int depthChunk = Shape::shape.depthChunk;
  static constexpr int threads = 32 * warpRows * warpCols;
  static constexpr int warpTileRows = BM / warpRows;  // rows of S one warp computes
  static constexpr int warpTileCols = BN / warpCols;
  static constexpr int fragmentRows = warpTileRows / 16;  // m16 fragments per warp
  static constexpr int fragmentCols = warpTileCols / 8;   // n8 fragments per warp
};

// Where the accumulators of this thread sit in the tile: acc[m][n][2·half + q] is the logit at
// (row(m, half), col(n, q)) of the tile.
template <class Shape>
struct ThreadCoordinates {
  int warp, lane, g, t, warpRow, warpCol;
  __device__ ThreadCoordinates() {
    warp = threadIdx.x >> 5;
    lane = threadIdx.x & 31;
    g = lane >> 2;
    t = lane & 3;
    warpRow = warp / Tile<Shape>::warpCols;
    warpCol = warp % Tile<Shape>::warpCols;
  }
  __device__ int row(int m, int half) const { return warpRow * Tile<Shape>::warpTileRows + m * 16 + g + 8 * half; }
  __device__ int col(int n, int q) const { return warpCol * Tile<Shape>::warpTileCols + n * 8 + 2 * t + q; }
};

// 16 bytes from global to shared memory: asynchronous on sm_80+ (overlaps the next chunk's load
// with this chunk's products), a plain copy before.
__device__ __forceinline__ void copy16(void* shared, const void* global) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(address), "l"(global));
#else
  *reinterpret_cast<uint4*>(shared) = *reinterpret_cast<const uint4*>(global);
#endif
}
__device__ __forceinline__ void copyCommit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int Pending>
__device__ __forceinline__ void copyWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
#endif
}

// rows × cols elements from a row-major global matrix (leading dimension ld) into shared memory
// (leading dimension sharedLd), by all threads of the block. cols·sizeof(T) is a multiple of 16.
template <typename T, int Threads>
__device__ __forceinline__ void stageBlock(T* shared, int sharedLd, const T* global, int64_t ld, int rows, int cols) {
  constexpr int perVector = 16 / sizeof(T);
  const int vectorsPerRow = cols / perVector;
  for (int v = threadIdx.x; v < rows * vectorsPerRow; v += Threads) {
    const int r = v / vectorsPerRow, c = (v % vectorsPerRow) * perVector;
    copy16(shared + r * sharedLd + c, global + r * ld + c);
  }
}

// acc = U[row0 : row0+BM] · V[col0 : col0+BN]ᵀ over the padded depth. `stage` holds two buffers of
// (BM + BN) rows × (depthChunk + pad) elements. Ends with a barrier: the caller may reuse `stage`.
template <class Op, class Shape>
__device__ void logitTile(float (&acc)[Tile<Shape>::fragmentRows][Tile<Shape>::fragmentCols][4],
                          const typename Op::Element* u, const typename Op::Element* v, int64_t paddedDim,
                          int64_t row0, int64_t col0, typename Op::Element* stage) {
  using T = typename Op::Element;
  using Geometry = Tile<Shape>;
  constexpr int ld = Geometry::depthChunk + Op::pad;
  constexpr int bufferElements = (Geometry::BM + Geometry::BN) * ld;
  const ThreadCoordinates<Shape> at;
#pragma unroll
  for (int m = 0; m < Geometry::fragmentRows; ++m)
#pragma unroll
    for (int n = 0; n < Geometry::fragmentCols; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.0f;

  const T* uTile = u + row0 * paddedDim;
  const T* vTile = v + col0 * paddedDim;
  const int chunks = static_cast<int>(paddedDim / Geometry::depthChunk);
  auto load = [&](int chunk, int buffer) {
    T* a = stage + buffer * bufferElements;
    T* b = a + Geometry::BM * ld;
    const int64_t k0 = int64_t(chunk) * Geometry::depthChunk;
    stageBlock<T, Geometry::threads>(a, ld, uTile + k0, paddedDim, Geometry::BM, Geometry::depthChunk);
    stageBlock<T, Geometry::threads>(b, ld, vTile + k0, paddedDim, Geometry::BN, Geometry::depthChunk);
    copyCommit();
  };

  load(0, 0);
  for (int chunk = 0; chunk < chunks; ++chunk) {
    if (chunk + 1 < chunks) {
      load(chunk + 1, (chunk + 1) & 1);
      copyWait<1>();
    } else {
      copyWait<0>();
    }
    __syncthreads();
    const T* a = stage + (chunk & 1) * bufferElements;
    const T* b = a + Geometry::BM * ld;
#pragma unroll
    for (int k = 0; k < Geometry::depthChunk; k += Op::kStep) {
      uint32_t fa[Geometry::fragmentRows][4], fb[Geometry::fragmentCols][2];
#pragma unroll
      for (int m = 0; m < Geometry::fragmentRows; ++m)
        Op::loadA(fa[m], a, ld, at.warpRow * Geometry::warpTileRows + m * 16, k);
#pragma unroll
      for (int n = 0; n < Geometry::fragmentCols; ++n)
        Op::loadB(fb[n], b, ld, at.warpCol * Geometry::warpTileCols + n * 8, k);
#pragma unroll
      for (int m = 0; m < Geometry::fragmentRows; ++m)
#pragma unroll
        for (int n = 0; n < Geometry::fragmentCols; ++n) Op::mma(acc[m][n], fa[m], fb[n]);
    }
    __syncthreads();
  }
}

// The block's sum of one float a thread, in an order fixed by the block's shape (lanes by a shuffle
// tree, then the warps in index order, in double): the panel kernels' dθ partials, bit-identical
// from run to run. `warpSums` is shared memory for Threads/32 doubles; the sum is thread 0's. All
// threads of the block must call it.
template <int Threads>
__device__ __forceinline__ double blockSumInOrder(float value, double* warpSums) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  if ((threadIdx.x & 31) == 0) warpSums[threadIdx.x >> 5] = value;
  __syncthreads();
  double total = 0;
  if (threadIdx.x == 0)
    for (int w = 0; w < Threads / 32; ++w) total += warpSums[w];
  return total;
}

// The same over a group of Warps warps (warpInGroup 0..Warps−1) that `barrier` syncs, when other
// warps of the block are busy elsewhere (the persistent TMA kernels' producers): the sum is the
// group's first thread's. Equal to blockSumInOrder over a block whose other warps add zeros.
template <int Warps, class Barrier>
__device__ __forceinline__ double groupSumInOrder(float value, double* warpSums, int warpInGroup, Barrier barrier) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  if ((threadIdx.x & 31) == 0) warpSums[warpInGroup] = value;
  barrier();
  double total = 0;
  if (warpInGroup == 0 && (threadIdx.x & 31) == 0)
    for (int w = 0; w < Warps; ++w) total += warpSums[w];
  return total;
}

// A tile of a launch's grid of tiles (x fastest), for persistent blocks: block b takes tiles b,
// b + gridDim.x, ... (panel_launch.h launches min(tiles, SMs) blocks).
struct GridTile {
  int64_t x, y, z;
};
__device__ __forceinline__ GridTile gridTile(int64_t index, const dim3& tiles) {
  return {index % tiles.x, (index / tiles.x) % tiles.y, index / (int64_t(tiles.x) * tiles.y)};
}
__device__ __forceinline__ int64_t tileCount(const dim3& tiles) { return int64_t(tiles.x) * tiles.y * tiles.z; }

// Host side, for both passes: a block per planned tile group, with more dynamic shared memory than
// the default 48 KiB, which a kernel must opt into before it is launched or its occupancy queried.
template <class Shape, class Params>
cudaError_t launchTileKernel(void (*kernel)(Params, int), int64_t sharedBytes, const Params& params, int launch,
                             cudaStream_t stream) {
  const int bytes = static_cast<int>(sharedBytes);
  cudaError_t status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (status != cudaSuccess) return status;
  kernel<<<params.plan.blocksPerLaunch(), Tile<Shape>::threads, bytes, stream>>>(params, launch);
  return cudaGetLastError();
}

template <class Shape, class Params>
cudaError_t tileKernelOccupancy(void (*kernel)(Params, int), int64_t sharedBytes, int* blocksPerMultiprocessor) {
  const int bytes = static_cast<int>(sharedBytes);
  cudaError_t status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (status != cudaSuccess) return status;
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocksPerMultiprocessor, kernel, Tile<Shape>::threads, bytes);
}

}  // namespace infonce::cuda
