// The panel GEMM's main loop for sm_90a (Hopper): one 128×128 block tile of C = A·B with 16-bit
// operands (bf16 or fp16) and fp32 accumulators, on wgmma (warpgroup MMA: the tensor cores read the
// operands from shared memory themselves) fed by TMA (the tensor memory accelerator copies whole
// boxes, 128-byte swizzled, and signals an mbarrier when they land). Each operand in either storage
// order, as the panel pass needs them (panel_gemm.cuh has the same three products for sm_80):
//   KMajor  (K contiguous: U and V rows for S = U·Vᵀ, G rows for dU = G·V): one 64 (K) × 128 box a stage;
//   MNMajor (M or N contiguous: V and U along D, Gᵀ read from G): two 64 (M/N) × 64 (K) boxes a stage,
//           read by wgmma's transposed form (imm-trans), which 16-bit types allow.
//
// Warp-specialised: warpgroup 0 is the producer (one thread issues the TMA copies of stage after
// stage, kStages ahead); warpgroups 1 and 2 are consumers, 64 rows of the tile each, one
// wgmma.m64n128k16 per 16 of depth. Two mbarriers per stage: `full` (the producer's expect_tx; the
// copies' bytes complete it) and `empty` (one arrival per consumer once its MMAs have read the stage).
//
// FLOPs per block: 2·128·128·K. Shared memory: kStages × 32 KiB of operands (+ 1 KiB alignment and
// the barriers). The sm_80 loop (panel_gemm.cuh) feeds mma.sync from registers through ldmatrix;
// here the tensor cores read shared memory themselves, so no fragment loads issue at all.
//
// Status: built and resource-checked without a GPU (test/cuda-budgets.test.ts compiles it for
// sm_90a and requires wgmma.mma_async and cp.async.bulk.tensor in its PTX); its first check against a
// float64 product, every layout, is native/cuda/dev/wgmma_check.cu in bench/gpu-check.sh. The panel
// schedule's kernels use it (statistics_pass_sm90.cu, panel_gradients_sm90.cu) only with
// INFONCE_CUDA_WGMMA=1 until a GPU has passed it.
#pragma once

#include <cuda.h>  // CUtensorMap (a type only: no driver symbol is linked)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include <type_traits>

namespace infonce::cuda::sm90 {

constexpr int kTile = 128;          // block tile rows (M) and columns (N)
constexpr int kDepth = 64;          // K per stage: one 128-byte swizzle row of 16-bit elements
constexpr int kStages = 4;
constexpr int kConsumers = 2;       // warpgroups of 64 rows each
constexpr int kThreads = 128 * (1 + kConsumers);
constexpr int kStageBytes = kTile * kDepth * 2;  // one operand's stage: 16 KiB
constexpr int kSharedBytes = 1024 + kStages * 2 * kStageBytes + 2 * kStages * 8;  // alignment slack, A and B, barriers
constexpr int kAccumulators = 64;   // fp32 registers of one thread's 64×128 warpgroup tile
static_assert(kSharedBytes <= 232448 - 1024, "one block must fit an H100's 227 KiB of shared memory a block");

struct KMajor {};
struct MNMajor {};

// The TMA box of an operand (elements; the first dimension is the contiguous one): 64 × 128 for
// K-major (one a stage), 64 × 64 for MN-major (two a stage, M/N 0-63 and 64-127, 8 KiB apart).
// 64 16-bit elements are the 128 bytes a swizzled row may hold.
template <class Layout>
constexpr unsigned kBoxInner = 64;
template <class Layout>
constexpr unsigned kBoxOuter = std::is_same<Layout, KMajor>::value ? kTile : kDepth;
constexpr int kHalfStageBytes = kStageBytes / 2;  // the second MN-major box, and consumer 1's 64 rows of A

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define INFONCE_SM90A 1
#endif
// TMA and the mbarrier waits exist from sm_90 on: the sm_100a loop (panel_gemm_sm100.cuh) stages its
// operands with the same code.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define INFONCE_TMA 1
#endif

__device__ __forceinline__ uint32_t sharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// The wgmma shared-memory descriptor of a stage in TMA's 128-byte swizzle (a 1,024-byte aligned
// stage, so the base offset is 0). Rows of 128 bytes, 8-row atoms of 1,024 bytes:
//   K-major:  rows are M/N lines of 64 K; the stride byte offset (8 lines → the next 8) is 1,024;
//             the leading byte offset is unused by swizzled K-major layouts (1 by convention).
//   MN-major: rows are K lines of 64 M/N; the stride byte offset (8 K → the next 8) is 1,024 and
//             the leading byte offset (M/N 0-63 → 64-127, the second box) 8,192.
// Host and device: test/cuda-layouts.test.ts checks it against TMA's placement on the host.
template <class Layout>
__host__ __device__ constexpr uint64_t encodeDescriptor(uint32_t sharedAddress) {
  constexpr bool kMajor = std::is_same<Layout, KMajor>::value;
  return uint64_t((sharedAddress & 0x3FFFF) >> 4) |                  // start address, bits 0-13
         uint64_t(kMajor ? 1 : kHalfStageBytes >> 4) << 16 |          // leading byte offset, bits 16-29
         uint64_t(1024 >> 4) << 32 |                                   // stride byte offset, bits 32-45
         uint64_t(1) << 62;                                            // layout: 128-byte swizzle
}
// The descriptor's advance (16-byte units) for 16 more of K: 32 bytes along a K-major row (within
// the swizzle atom: the hardware applies the swizzle to the address it forms), or two 8-row atoms
// of an MN-major stage.
template <class Layout>
constexpr uint64_t kDepthStep16 = std::is_same<Layout, KMajor>::value ? 32 >> 4 : 2048 >> 4;
// Where consumer c's 64 rows of A start in a stage (either order: 64 K-major lines of 128 bytes, or
// the second MN-major box).
constexpr int consumerOffset(int consumer) { return consumer * kHalfStageBytes; }

#ifdef INFONCE_TMA
__device__ __forceinline__ void barrierInit(uint64_t* barrier, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sharedAddress(barrier)), "r"(count) : "memory");
}
__device__ __forceinline__ void barrierArrive(uint64_t* barrier) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(sharedAddress(barrier)) : "memory");
}
__device__ __forceinline__ void barrierExpectBytes(uint64_t* barrier, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(sharedAddress(barrier)), "r"(bytes)
               : "memory");
}
// Until the phase of parity `parity` has completed (a fresh barrier counts parity 1 as completed).
__device__ __forceinline__ void barrierWait(uint64_t* barrier, unsigned parity) {
  uint32_t done = 0;
  while (!done)
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n"
        "}\n"
        : "=r"(done)
        : "r"(sharedAddress(barrier)), "r"(parity)
        : "memory");
}

// One box of a 2-D tensor map into shared memory; `barrier` counts its bytes.
__device__ __forceinline__ void copyBox(void* shared, const CUtensorMap* map, int inner, int outer, uint64_t* barrier) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          sharedAddress(shared)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(inner), "r"(outer), "r"(sharedAddress(barrier))
      : "memory");
}

template <class Layout>
__device__ __forceinline__ uint64_t operandDescriptor(const void* shared) {
  return encodeDescriptor<Layout>(sharedAddress(shared));
}

// The stage at depth k0 (elements) of an operand whose tile starts at M/N line mn0.
template <class Layout>
__device__ __forceinline__ void stageOperand(unsigned char* stage, const CUtensorMap* map, int mn0, int k0,
                                             uint64_t* barrier) {
  if constexpr (std::is_same<Layout, KMajor>::value) {
    copyBox(stage, map, k0, mn0, barrier);
  } else {
    copyBox(stage, map, mn0, k0, barrier);
    copyBox(stage + kHalfStageBytes, map, mn0 + 64, k0, barrier);
  }
}

#endif  // INFONCE_TMA

#ifdef INFONCE_SM90A
__device__ __forceinline__ void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void wgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
}
// Keeps the compiler from moving reads or writes of the accumulators across this point (wgmma writes
// them asynchronously, between its issue and the wait).
__device__ __forceinline__ void fenceAccumulators(float (&d)[kAccumulators]) {
#pragma unroll
  for (int e = 0; e < kAccumulators; ++e) asm volatile("" : "+f"(d[e])::"memory");
}

// d (64×128, fp32, the warpgroup's fragment) += A (64×16) · B (16×128), both from shared memory;
// Transpose: the operand is MN-major. Accumulates always (scale-d 1): the caller zeroes d.
template <typename T, bool TransposeA, bool TransposeB>
__device__ __forceinline__ void wgmma64x128x16(float (&d)[kAccumulators], uint64_t a, uint64_t b) {
  if constexpr (std::is_same<T, __nv_bfloat16>::value) {
    asm volatile(
        "{\n"
        ".reg .pred accumulate;\n"
        "setp.ne.b32 accumulate, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, accumulate, 1, 1, %67, %68;\n"
        "}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(a), "l"(b), "r"(1), "n"(TransposeA), "n"(TransposeB));
  } else {
    asm volatile(
        "{\n"
        ".reg .pred accumulate;\n"
        "setp.ne.b32 accumulate, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, accumulate, 1, 1, %67, %68;\n"
        "}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(a), "l"(b), "r"(1), "n"(TransposeA), "n"(TransposeB));
  }
}

// The 256 consumer threads alone (the producer warpgroup may be loading the next tile): named
// barrier 1. As a functor for code shared with the sm_80 kernels (term_factors.cuh).
__device__ __forceinline__ void consumerBarrier() { asm volatile("bar.sync 1, %0;\n" ::"n"(128 * kConsumers) : "memory"); }
struct ConsumerBarrier {
  __device__ void operator()() const { consumerBarrier(); }
};
#endif  // INFONCE_SM90A

// Where accumulator e of this thread sits in its consumer's 64×128 tile: the mma C fragment layout
// repeated over the 16 column groups of 8 (e = 4·group + 2·half + q).
struct WarpgroupLanes {
  int row0, col0;  // of e = 0
  __device__ explicit WarpgroupLanes(int threadInGroup) {
    const int warp = threadInGroup >> 5, lane = threadInGroup & 31;
    row0 = warp * 16 + (lane >> 2);
    col0 = 2 * (lane & 3);
  }
  __device__ int row(int e) const { return row0 + 8 * ((e >> 1) & 1); }
  __device__ int col(int e) const { return col0 + 8 * (e >> 2) + (e & 1); }
};

// The stage ring and its barriers in a block's dynamic shared memory, and how many stages the block
// has gone through: one pipeline serves every tile a block computes, so a persistent block's
// producer loads the next tile's first stages while the consumers run the last tile's epilogue.
// Every thread keeps its own copy of `sequence`; all advance it alike.
struct Pipeline {
  unsigned char* aStages;
  unsigned char* bStages;
  uint64_t* full;
  uint64_t* empty;
  int sequence;  // stages used so far: stage = sequence % kStages, its round = sequence / kStages
};

// Sets up the pipeline at the start of `shared` (kSharedBytes): the barriers initialised by one
// thread, then a block-wide barrier. All threads of the block must call it, once. `emptyArrivals`:
// how many arrivals give a stage back (one per consumer here; the sm_100a loop's tcgen05.commit: 1).
__device__ __forceinline__ Pipeline startPipeline(unsigned char* shared, unsigned emptyArrivals = kConsumers) {
  unsigned char* base = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(shared) + 1023) & ~uintptr_t(1023));
  Pipeline pipeline{base, base + kStages * kStageBytes, reinterpret_cast<uint64_t*>(base + 2 * kStages * kStageBytes),
                    nullptr, 0};
  pipeline.empty = pipeline.full + kStages;
#ifdef INFONCE_TMA
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      barrierInit(&pipeline.full[s], 1);
      barrierInit(&pipeline.empty[s], emptyArrivals);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");  // visible to the async proxy (TMA)
  }
#endif
  __syncthreads();
  return pipeline;
}

// acc = the 128 × 128 tile of A·B whose A lines start at aLine0 and B lines at bLine0, over `depth`
// of K (a multiple of 32: the panel plan's depth step) from aDepth0 in A and bDepth0 in B (the dU
// splits and the panels start inside the operands); each consumer thread gets its 64 accumulators
// (rows 64·consumer + WarpgroupLanes). A last stage of 32 runs only its first two MMAs (TMA still
// copies the whole box: past the operand's extent it reads zeros). Returns the consumer index (0 or
// 1), or -1 in the producer warpgroup (whose `acc` is untouched) as soon as its copies are issued.
// All threads of the block call it for every tile, in the same order.
template <typename T, class ALayout, class BLayout>
__device__ int gemmTile(float (&acc)[kAccumulators], Pipeline& pipeline, const CUtensorMap* aMap, int aLine0, int aDepth0,
                        const CUtensorMap* bMap, int bLine0, int bDepth0, int depth) {
  const int first = pipeline.sequence, depthSteps = (depth + kDepth - 1) / kDepth;
  pipeline.sequence += depthSteps;
#ifdef INFONCE_SM90A
  const int warpgroup = threadIdx.x / 128, threadInGroup = threadIdx.x % 128;
  uint64_t* full = pipeline.full;
  uint64_t* empty = pipeline.empty;
  if (warpgroup == 0) {
    if (threadInGroup == 0)
      for (int k = 0; k < depthSteps; ++k) {
        const int stage = (first + k) % kStages, round = (first + k) / kStages;
        barrierWait(&empty[stage], (round & 1) ^ 1);  // the consumers are done with its last use
        barrierExpectBytes(&full[stage], 2 * kStageBytes);
        stageOperand<ALayout>(pipeline.aStages + stage * kStageBytes, aMap, aLine0, aDepth0 + k * kDepth, &full[stage]);
        stageOperand<BLayout>(pipeline.bStages + stage * kStageBytes, bMap, bLine0, bDepth0 + k * kDepth, &full[stage]);
      }
    return -1;
  }
  const int consumer = warpgroup - 1;
#pragma unroll
  for (int e = 0; e < kAccumulators; ++e) acc[e] = 0.0f;
  // Stage k: wait for its bytes, issue Steps16 MMAs (the whole 64, or a last stage's 32), then wait
  // for the previous stage's MMAs only (one batch stays in flight, so the tensor cores never idle
  // between stages) and give that stage back. Two call sites with a constant count, not a test
  // inside the loop: a wgmma under a branch that ptxas cannot prove uniform is serialised (C7520).
  auto consume = [&](int k, auto steps16) {
    const int stage = (first + k) % kStages;
    barrierWait(&full[stage], ((first + k) / kStages) & 1);
    const unsigned char* a = pipeline.aStages + stage * kStageBytes + consumerOffset(consumer);
    const unsigned char* b = pipeline.bStages + stage * kStageBytes;
    const uint64_t aDescriptor = operandDescriptor<ALayout>(a), bDescriptor = operandDescriptor<BLayout>(b);
    fenceAccumulators(acc);
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < decltype(steps16)::value; ++kk)
      wgmma64x128x16<T, std::is_same<ALayout, MNMajor>::value, std::is_same<BLayout, MNMajor>::value>(
          acc, aDescriptor + kk * kDepthStep16<ALayout>, bDescriptor + kk * kDepthStep16<BLayout>);
    wgmmaCommit();
    wgmmaWait<1>();
    if (k > 0 && threadInGroup == 0) barrierArrive(&empty[(first + k - 1) % kStages]);
  };
  const int wholeSteps = depth / kDepth;
  for (int k = 0; k < wholeSteps; ++k) consume(k, std::integral_constant<int, kDepth / 16>());
  if (depth % kDepth == kDepth / 2) consume(wholeSteps, std::integral_constant<int, kDepth / 32>());
  // The last batch, then its stage back to the producer (the next tile's copies may reuse it).
  wgmmaWait<0>();
  fenceAccumulators(acc);
  if (threadInGroup == 0) barrierArrive(&empty[(first + depthSteps - 1) % kStages]);
  return consumer;
#else
  (void)acc, (void)aMap, (void)aLine0, (void)aDepth0, (void)bMap, (void)bLine0, (void)bDepth0, (void)first;
  return -1;
#endif
}

// One tile with a pipeline of its own (the kernels that compute one tile a block).
template <typename T, class ALayout, class BLayout>
__device__ int gemmTile(float (&acc)[kAccumulators], const CUtensorMap* aMap, int aLine0, int aDepth0,
                        const CUtensorMap* bMap, int bLine0, int bDepth0, int depth, unsigned char* shared) {
  Pipeline pipeline = startPipeline(shared);
  return gemmTile<T, ALayout, BLayout>(acc, pipeline, aMap, aLine0, aDepth0, bMap, bLine0, bDepth0, depth);
}

}  // namespace infonce::cuda::sm90
