// How a loss call is cut into tiles and launches: plain C++, shared by the CUDA host code and the
// CPU addon (so the tests check it on machines without a GPU).
//
// Both passes use the same schedule. Row tiles are split into R ranges and column tiles into R
// ranges; in step k, block b works on (row range b, column range (b + k) mod R). Within a step every
// row range and every column range has one owner, so the per-row statistics and dU rows, and the
// per-column statistics and dV rows, are read-modified-written without atomics, in an order fixed by
// the plan alone: the result is bit-identical run to run. To fill the GPU when R is small, P steps
// run in the same launch, each into its own replica of the accumulators (summed in a fixed order at
// the end).
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define INFONCE_HOST_DEVICE __host__ __device__
#else
#define INFONCE_HOST_DEVICE
#endif

namespace infonce::cuda {

struct TileShape {
  int rows;            // BM: logit-tile rows (queries)
  int cols;            // BN: logit-tile columns (documents)
  int warpRows;        // warps along the rows of the logit tile
  int warpCols;        // warps along its columns
  int depthChunk;      // elements of D staged per step of the S product
};

// 128×128 logits per block, 8 warps of 64×32: GPUs with ≥ 96 KiB of shared memory a block (sm_80+).
constexpr TileShape kLargeTiles{128, 128, 2, 4, 32};
// 64×64 logits, 4 warps of 32×32: fits the 64 KiB of Turing (sm_75).
constexpr TileShape kSmallTiles{64, 64, 2, 2, 32};

constexpr int threadsOf(const TileShape& t) { return 32 * t.warpRows * t.warpCols; }

// D is staged in chunks of this many elements during the gradient products: smaller for fp32, whose
// G tile alone takes 64 KiB of shared memory in the large shape.
constexpr int gradientChunk(const TileShape& t, int elementBytes) {
  return (elementBytes == 4 && t.rows == 128) ? 16 : 32;
}

// Padding (elements) added to every shared-memory row so that fragment loads do not collide on banks.
constexpr int sharedPad(int elementBytes) { return elementBytes == 4 ? 4 : 8; }

// Shared memory of the two kernels, bytes.
constexpr int64_t statisticsSharedBytes(const TileShape& t, int elementBytes) {
  const int64_t stages = 2LL * (t.rows + t.cols) * (t.depthChunk + sharedPad(elementBytes)) * elementBytes;
  const int64_t reductions = 3LL * 4 * (t.warpCols * t.rows + t.warpRows * t.cols);
  return stages + reductions;
}
// The G tile, and one or two buffers of (V, U) chunks: two (the next chunk loads while this one
// multiplies) where that fits the 99 KiB a block gets on sm_86/89, one otherwise (fp32, large tiles).
constexpr int64_t gTileBytes(const TileShape& t, int elementBytes) {
  return int64_t(t.rows) * (t.cols + sharedPad(elementBytes)) * elementBytes;
}
constexpr int64_t chunkBufferBytes(const TileShape& t, int elementBytes) {
  return int64_t(t.cols + t.rows) * (gradientChunk(t, elementBytes) + sharedPad(elementBytes)) * elementBytes;
}
constexpr int gradientBuffers(const TileShape& t, int elementBytes) {
  return gTileBytes(t, elementBytes) + 2 * chunkBufferBytes(t, elementBytes) + 8LL * threadsOf(t) <= 101376 ? 2 : 1;
}
constexpr int64_t gradientSharedBytes(const TileShape& t, int elementBytes) {
  const int64_t stages = 2LL * (t.rows + t.cols) * (t.depthChunk + sharedPad(elementBytes)) * elementBytes;
  const int64_t products = gTileBytes(t, elementBytes) + gradientBuffers(t, elementBytes) * chunkBufferBytes(t, elementBytes);
  const int64_t reduction = 8LL * threadsOf(t);
  return (stages > products ? stages : products) + reduction;
}

struct LaunchPlan {
  int64_t paddedRows = 0, paddedCols = 0, paddedDim = 0;  // multiples of the tile and of 64
  int64_t rowTiles = 0, colTiles = 0;
  int ranges = 1;    // R: row ranges = column ranges = blocks per step
  int replicas = 1;  // P: steps per launch, each with its own accumulators
  int launches = 1;  // ceil(R / P) per pass

  INFONCE_HOST_DEVICE int64_t rowTileBegin(int range) const { return rowTiles * range / ranges; }
  INFONCE_HOST_DEVICE int64_t colTileBegin(int range) const { return colTiles * range / ranges; }
  // Block `block` of launch `launch`: its replica and step (step ≥ ranges means idle), and ranges.
  INFONCE_HOST_DEVICE int replicaOf(int block) const { return block / ranges; }
  INFONCE_HOST_DEVICE int stepOf(int launch, int block) const { return launch * replicas + replicaOf(block); }
  INFONCE_HOST_DEVICE int rowRangeOf(int block) const { return block % ranges; }
  INFONCE_HOST_DEVICE int colRangeOf(int launch, int block) const { return (rowRangeOf(block) + stepOf(launch, block)) % ranges; }
  INFONCE_HOST_DEVICE int blocksPerLaunch() const { return ranges * replicas; }
};

// residentBlocks: how many blocks the GPU runs at once (SMs × blocks per SM). maxReplicas bounds
// the memory of the replicated accumulators.
inline LaunchPlan planLaunch(int64_t rows, int64_t cols, int64_t dim, const TileShape& tile, int residentBlocks,
                             int maxReplicas) {
  LaunchPlan plan;
  plan.rowTiles = (rows + tile.rows - 1) / tile.rows;
  plan.colTiles = (cols + tile.cols - 1) / tile.cols;
  plan.paddedRows = plan.rowTiles * tile.rows;
  plan.paddedCols = plan.colTiles * tile.cols;
  plan.paddedDim = (dim + 63) / 64 * 64;
  const int64_t fewest = plan.rowTiles < plan.colTiles ? plan.rowTiles : plan.colTiles;
  const int64_t target = residentBlocks > 1 ? residentBlocks : 1;
  plan.ranges = static_cast<int>(fewest < target ? fewest : target);
  int replicas = static_cast<int>((target + plan.ranges - 1) / plan.ranges);
  if (replicas > maxReplicas) replicas = maxReplicas;
  if (replicas > plan.ranges) replicas = plan.ranges;
  plan.replicas = replicas < 1 ? 1 : replicas;
  plan.launches = (plan.ranges + plan.replicas - 1) / plan.replicas;
  return plan;
}

}  // namespace infonce::cuda
