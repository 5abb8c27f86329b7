// The panel GEMM's main loop for sm_100a (B200/GB200): one 128×128 block tile of C = A·B with 16-bit
// operands and fp32 accumulators on the fifth-generation tensor cores (tcgen05), which read both
// operands from shared memory and accumulate in tensor memory (TMEM, 128 lanes × 512 columns of 32
// bits an SM), fed by the same TMA staging as the sm_90a loop (panel_gemm_sm90.cuh: boxes, 128-byte
// swizzle, the full/empty mbarrier ring, the three operand layouts of the panel pass).
//
// Warp-specialised, persistent: warp 8 is the producer (one thread issues the TMA copies, kStages
// ahead); warp 9 issues the MMAs (one thread: tcgen05.mma.cta_group::1.kind::f16, 128×128×16, one per
// 16 of depth) and gives each stage back with tcgen05.commit, which arrives on the stage's empty
// barrier once those MMAs have read it; warps 0–7 are the epilogue, each reading 32 rows × 64 columns
// of the accumulator from TMEM into 64 registers (tcgen05.ld.32x32b.x64: a warp reaches the 32 lanes
// 32·(warp % 4) on). The accumulator is double-buffered in TMEM (2 × 128 columns), so the MMAs of a
// block's next tile run while its epilogue reads the last one: the epilogue/MMA overlap that the
// sm_90a loop leaves for ping-pong consumers comes here from the hardware's own accumulator memory.
//
// Descriptors (PTX ISA, tcgen05): the shared-memory descriptor is wgmma's (same canonical layouts,
// leading and stride byte offsets, +32 B or +2 KiB per 16 of depth) with the version field (bits
// 46–48) set to 1; its 128-byte swizzle mode is 2 in bits 61–63, the same bit as wgmma's layout
// type 1 in bits 62–63. The instruction descriptor: D f32, A and B bf16 or f16, "transpose" = MN-major,
// N >> 3 and M >> 4.
//
// Status: built and resource-checked without a GPU (test/cuda-budgets.test.ts compiles it for
// sm_100a and requires tcgen05.mma, tcgen05.commit, tcgen05.ld and TMA in its PTX; the descriptors'
// fields are static_asserts below; their address arithmetic is the sm_90a loop's, which
// dev/layout_check.cu checks); its first check against a float64 product is
// native/cuda/dev/tcgen05_check.cu. The panel schedule's kernels (statistics_pass_sm100.cu,
// panel_gradients_sm100.cu) use it only with INFONCE_CUDA_TCGEN05=1 until a B200 has passed it.
#pragma once

#include <cuda/ptx>

#include "sm90a/panel_gemm_sm90.cuh"

namespace infonce::cuda::sm100 {

using sm90::KMajor;
using sm90::MNMajor;

constexpr int kTile = sm90::kTile;    // 128: M of one tcgen05.mma (cta_group::1) and N
constexpr int kDepth = sm90::kDepth;  // 64 of K a stage
constexpr int kStages = sm90::kStages;
constexpr int kEpilogueWarps = 8;     // warp w: rows 32·(w % 4).., columns 64·(w / 4)..
constexpr int kProducerWarp = 8, kMmaWarp = 9;
constexpr int kThreads = 32 * 10;
constexpr int kAccumulators = 64;     // fp32 registers of one epilogue thread: one row, 64 columns
constexpr int kAccumulatorBuffers = 2;
constexpr int kTensorMemoryColumns = kAccumulatorBuffers * kTile;  // a power of two ≥ 32, as tcgen05.alloc needs
// The sm_90a loop's ring and barriers, then 4 more barriers (accumulator full/empty ×2) and the TMEM address.
constexpr int kSharedBytes = sm90::kSharedBytes + 64;
static_assert(kSharedBytes <= 232448 - 1024, "one block must fit a B200's 227 KiB of shared memory a block");

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM100_ALL)
#define INFONCE_SM100A 1
#endif

// The instruction descriptor of tcgen05.mma .kind::f16 for this loop's 128×128×16 MMAs.
template <typename T, class ALayout, class BLayout>
__host__ __device__ constexpr uint32_t instructionDescriptor() {
  constexpr uint32_t type = std::is_same<T, __nv_bfloat16>::value ? 1 : 0;  // bf16 1, f16 0
  return uint32_t(1) << 4 |                                                   // D: f32
         type << 7 | type << 10 |                                            // A, B types
         uint32_t(std::is_same<ALayout, MNMajor>::value) << 15 |              // A MN-major ("transposed")
         uint32_t(std::is_same<BLayout, MNMajor>::value) << 16 |              // B MN-major
         uint32_t(kTile >> 3) << 17 |                                        // N >> 3, bits 17–22
         uint32_t(kTile >> 4) << 24;                                         // M >> 4, bits 24–28
}

// Two values worked out by hand from the PTX ISA's table ("Instruction descriptor format for
// .kind::tf32, .kind::f16, ..."): bf16 K-major × K-major, and fp16 MN-major × MN-major.
static_assert(instructionDescriptor<__nv_bfloat16, KMajor, KMajor>() == 0x08200490u, "D f32, A/B bf16, N 128, M 128");
static_assert(instructionDescriptor<__half, MNMajor, MNMajor>() == 0x08218010u, "D f32, A/B f16 transposed, N 128, M 128");

// The shared-memory descriptor of a stage (see the header comment).
template <class Layout>
__host__ __device__ constexpr uint64_t encodeDescriptor(uint32_t sharedAddress) {
  return sm90::encodeDescriptor<Layout>(sharedAddress) | uint64_t(1) << 46;
}
static_assert((encodeDescriptor<KMajor>(0) >> 61) == 2, "128-byte swizzle is mode 2 in bits 61-63");
static_assert(((encodeDescriptor<MNMajor>(0) >> 46) & 7) == 1, "the version field is 1");

// What the epilogue thread's 64 accumulators are: row(), and column col0 + c for acc[c].
struct EpilogueLanes {
  int row, col0;
  __device__ explicit EpilogueLanes(int warp) : row(32 * (warp % 4) + int(threadIdx.x % 32)), col0(64 * (warp / 4)) {}
};

// The stage ring (sm90::Pipeline, whose empty barriers the MMA thread's tcgen05.commit arrives on)
// and the accumulator ring in TMEM with its barriers, in a block's dynamic shared memory.
struct Pipeline {
  sm90::Pipeline stages;
  uint64_t* accumulatorFull;   // [2]: the tile's MMAs are done (tcgen05.commit)
  uint64_t* accumulatorEmpty;  // [2]: the epilogue has read the buffer (one arrival per epilogue warp)
  uint32_t tensorMemory;       // TMEM address of buffer 0 (lane 0, its first column)
  int tiles;                   // tiles begun: the buffer is tiles % 2, its use tiles / 2
};

#ifdef INFONCE_SM100A
namespace ptx = ::cuda::ptx;

// Sets up both rings and allocates the TMEM accumulators (the MMA warp; released by finishPipeline).
// All threads of the block call it, once.
__device__ __forceinline__ Pipeline startPipeline(unsigned char* shared) {
  unsigned char* base = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(shared) + 1023) & ~uintptr_t(1023));
  uint64_t* extra = reinterpret_cast<uint64_t*>(base + 2 * kStages * sm90::kStageBytes) + 2 * kStages;
  uint32_t* tensorMemorySlot = reinterpret_cast<uint32_t*>(extra + 2 * kAccumulatorBuffers);
  if (int(threadIdx.x / 32) == kMmaWarp) {
    ptx::tcgen05_alloc(ptx::cta_group_1, tensorMemorySlot, uint32_t(kTensorMemoryColumns));
    ptx::tcgen05_relinquish_alloc_permit(ptx::cta_group_1);
  }
  if (threadIdx.x == 0)
    for (int b = 0; b < kAccumulatorBuffers; ++b) {
      sm90::barrierInit(&extra[b], 1);
      sm90::barrierInit(&extra[kAccumulatorBuffers + b], kEpilogueWarps);
    }
  ptx::tcgen05_fence_before_thread_sync();
  Pipeline pipeline{sm90::startPipeline(shared, 1), extra, extra + kAccumulatorBuffers, 0, 0};  // fences the inits, syncs
  ptx::tcgen05_fence_after_thread_sync();
  pipeline.tensorMemory = *tensorMemorySlot;
  return pipeline;
}

// Frees the TMEM accumulators. All threads of the block call it, after their last tile.
__device__ __forceinline__ void finishPipeline(const Pipeline& pipeline) {
  ptx::tcgen05_fence_before_thread_sync();
  __syncthreads();
  ptx::tcgen05_fence_after_thread_sync();
  if (int(threadIdx.x / 32) == kMmaWarp)
    ptx::tcgen05_dealloc(ptx::cta_group_1, pipeline.tensorMemory, uint32_t(kTensorMemoryColumns));
}

// acc = this epilogue thread's part (EpilogueLanes) of the 128 × 128 tile of A·B whose A lines start
// at aLine0 and B lines at bLine0, over `depth` of K (a multiple of 32, at least 32) from aDepth0 and
// bDepth0, as sm90::gemmTile. Returns the epilogue warp (0–7), or -1 in the producer and MMA warps
// (whose `acc` is untouched) once their part of the tile is issued. All threads of the block call it
// for every tile, in the same order.
template <typename T, class ALayout, class BLayout>
__device__ int gemmTile(float (&acc)[kAccumulators], Pipeline& pipeline, const CUtensorMap* aMap, int aLine0, int aDepth0,
                        const CUtensorMap* bMap, int bLine0, int bDepth0, int depth) {
  sm90::Pipeline& stages = pipeline.stages;
  const int first = stages.sequence, depthSteps = (depth + kDepth - 1) / kDepth;
  stages.sequence += depthSteps;
  const int tile = pipeline.tiles++;
  const int buffer = tile % kAccumulatorBuffers;
  const unsigned use = unsigned(tile / kAccumulatorBuffers);
  const int warp = int(threadIdx.x / 32), lane = int(threadIdx.x % 32);
  if (warp == kProducerWarp) {
    if (lane == 0)
      for (int k = 0; k < depthSteps; ++k) {
        const int stage = (first + k) % kStages, round = (first + k) / kStages;
        sm90::barrierWait(&stages.empty[stage], (round & 1) ^ 1);  // the MMAs are done with its last use
        sm90::barrierExpectBytes(&stages.full[stage], 2 * sm90::kStageBytes);
        sm90::stageOperand<ALayout>(stages.aStages + stage * sm90::kStageBytes, aMap, aLine0, aDepth0 + k * kDepth,
                                    &stages.full[stage]);
        sm90::stageOperand<BLayout>(stages.bStages + stage * sm90::kStageBytes, bMap, bLine0, bDepth0 + k * kDepth,
                                    &stages.full[stage]);
      }
    return -1;
  }
  if (warp == kMmaWarp) {
    if (lane == 0) {
      constexpr uint32_t descriptor = instructionDescriptor<T, ALayout, BLayout>();
      const uint32_t accumulator = pipeline.tensorMemory + uint32_t(buffer * kTile);  // its first column
      sm90::barrierWait(&pipeline.accumulatorEmpty[buffer], (use & 1) ^ 1);       // the epilogue has read it
      ptx::tcgen05_fence_after_thread_sync();
      for (int k = 0; k < depthSteps; ++k) {
        const int stage = (first + k) % kStages;
        sm90::barrierWait(&stages.full[stage], ((first + k) / kStages) & 1);
        ptx::tcgen05_fence_after_thread_sync();
        const uint64_t a = encodeDescriptor<ALayout>(sm90::sharedAddress(stages.aStages + stage * sm90::kStageBytes));
        const uint64_t b = encodeDescriptor<BLayout>(sm90::sharedAddress(stages.bStages + stage * sm90::kStageBytes));
        const int steps16 = k == depthSteps - 1 && depth % kDepth != 0 ? (depth % kDepth) / 16 : kDepth / 16;
        for (int kk = 0; kk < steps16; ++kk)
          ptx::tcgen05_mma(ptx::kind_f16, ptx::cta_group_1, accumulator, a + kk * sm90::kDepthStep16<ALayout>,
                           b + kk * sm90::kDepthStep16<BLayout>, descriptor, k > 0 || kk > 0);
        ptx::tcgen05_commit(ptx::cta_group_1, &stages.empty[stage]);  // back to the producer once read
      }
      ptx::tcgen05_commit(ptx::cta_group_1, &pipeline.accumulatorFull[buffer]);
    }
    __syncwarp();
    return -1;
  }
  sm90::barrierWait(&pipeline.accumulatorFull[buffer], use & 1);
  ptx::tcgen05_fence_after_thread_sync();
  const EpilogueLanes at(warp);
  const uint32_t address = pipeline.tensorMemory + (uint32_t(32 * (warp % 4)) << 16) + uint32_t(buffer * kTile + at.col0);
  uint32_t bits[kAccumulators];
  ptx::tcgen05_ld_32x32b(bits, address);
  ptx::tcgen05_wait_ld();
#pragma unroll
  for (int e = 0; e < kAccumulators; ++e) acc[e] = __uint_as_float(bits[e]);
  ptx::tcgen05_fence_before_thread_sync();
  __syncwarp();
  if (lane == 0) sm90::barrierArrive(&pipeline.accumulatorEmpty[buffer]);  // the MMAs may overwrite it
  return warp;
}
#endif  // INFONCE_SM100A

}  // namespace infonce::cuda::sm100
