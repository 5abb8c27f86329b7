// The sm_100a main loop (panel_gemm_sm100.cuh: TMA + mbarriers + tcgen05 with TMEM accumulators,
// warp-specialised, persistent) on its own, in the manner of wgmma_check.cu, for the three operand
// layouts of the panel pass:
//   S = U·Vᵀ    A K-major (rows of U), B K-major (rows of V)
//   dU = G·V    A K-major (rows of G), B MN-major (V along D)
//   dV = Gᵀ·U   A MN-major (G read transposed), B MN-major (U along D)
// on random bf16 and fp16 matrices, checked against a float64 product of the same rounded values,
// then timed. The blocks are persistent (one an SM, tiles strided by the grid), so the accumulator
// ring in TMEM and every barrier's phases turn over many times in the larger shapes.
//
// Build and run on a B200/GB200 (bench/gpu-pack.sh builds it; bench/gpu-check.sh runs it):
//   nvcc -std=c++17 --expt-relaxed-constexpr -O3 -gencode arch=compute_100a,code=sm_100a \
//        -Inative/include -Inative/cuda native/cuda/dev/tcgen05_check.cu -o build-gpu/tcgen05_check
// Exits 0 when every product is within tolerance, 1 when one is off, 2 when CUDA fails, 3 when the
// GPU is not compute capability 10.0 (tcgen05 as built here exists on sm_100a only).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <type_traits>

#include "sm100a/panel_gemm_sm100.cuh"
#include "sm90a/tensor_maps.h"
#include "dev/product_check.h"

namespace infonce::cuda {
namespace {

using sm100::KMajor;
using sm100::MNMajor;

// The 128×128 tiles of C (fp32, row-major, ldc), tile t at (t / tilesN, t % tilesN), block b taking
// tiles b, b + gridDim.x, ...
template <typename T, class ALayout, class BLayout>
__global__ void __launch_bounds__(sm100::kThreads, 1)
    tcgen05CheckKernel(const __grid_constant__ CUtensorMap aMap, const __grid_constant__ CUtensorMap bMap, float* c,
                       int64_t ldc, int tilesM, int tilesN, int depth) {
#ifdef INFONCE_SM100A
  extern __shared__ __align__(1024) unsigned char shared[];
  sm100::Pipeline pipeline = sm100::startPipeline(shared);
  for (int t = int(blockIdx.x); t < tilesM * tilesN; t += int(gridDim.x)) {
    const int m0 = (t / tilesN) * sm100::kTile, n0 = (t % tilesN) * sm100::kTile;
    float acc[sm100::kAccumulators];
    const int warp = sm100::gemmTile<T, ALayout, BLayout>(acc, pipeline, &aMap, m0, 0, &bMap, n0, 0, depth);
    if (warp < 0) continue;
    const sm100::EpilogueLanes at(warp);
    float* row = c + int64_t(m0 + at.row) * ldc + n0 + at.col0;
#pragma unroll
    for (int e = 0; e < sm100::kAccumulators; e += 4)
      *reinterpret_cast<float4*>(row + e) = make_float4(acc[e], acc[e + 1], acc[e + 2], acc[e + 3]);
  }
  sm100::finishPipeline(pipeline);
#else
  (void)aMap, (void)bMap, (void)c, (void)ldc, (void)tilesM, (void)tilesN, (void)depth;
#endif
}

using dev::check;

// C = A·B for one layout on the sm_100a loop, checked and timed; prints one line.
template <typename T, class ALayout, class BLayout>
bool checkShape(const char* name, const char* precision, int64_t M, int64_t N, int64_t K, int repeats, int multiprocessors) {
  constexpr bool aK = std::is_same<ALayout, KMajor>::value, bK = std::is_same<BLayout, KMajor>::value;
  const dev::Product<T> product(M, N, K, aK, bK);
  constexpr bool bf16 = std::is_same<T, __nv_bfloat16>::value;
  const sm90::TensorMapResult aMap = sm90::operandMap<ALayout>(product.aDevice, M, K, bf16);
  const sm90::TensorMapResult bMap = sm90::operandMap<BLayout>(product.bDevice, N, K, bf16);
  for (const auto* made : {&aMap, &bMap})
    if (!made->error.empty()) {
      std::fprintf(stderr, "%s\n", made->error.c_str());
      std::exit(2);
    }
  auto kernel = tcgen05CheckKernel<T, ALayout, BLayout>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sm100::kSharedBytes), "shared memory");
  const int tilesM = int(M / sm100::kTile), tilesN = int(N / sm100::kTile);
  const int blocks = std::min(tilesM * tilesN, multiprocessors);
  const auto launch = [&] {
    kernel<<<blocks, sm100::kThreads, sm100::kSharedBytes>>>(aMap.map, bMap.map, product.cDevice, N, tilesM, tilesN, int(K));
  };
  launch();
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "run");
  const auto error = product.error();
  return product.report("tcgen05", precision, name, error, product.tflops(repeats, launch));
}

template <typename T>
int checkAll(const char* precision, int multiprocessors) {
  int failures = 0;
  // One tile and one stage; several tiles with the stage ring wrapping and a last stage half deep
  // (K = 672: 10½ stages of 64, as the dU splits of 32-deep steps may end); more tiles than blocks, so
  // each block reuses both TMEM buffers (8192²: 4,096 tiles); the timed shape of gemm_check.
  struct Shape {
    int64_t M, N, K;
    int repeats;
  };
  for (const Shape& s : {Shape{128, 128, 64, 1}, Shape{256, 384, 672, 1}, Shape{8192, 8192, 1024, 10}}) {
    failures += !checkShape<T, KMajor, KMajor>("S = U·Vᵀ (K, K)", precision, s.M, s.N, s.K, s.repeats, multiprocessors);
    failures += !checkShape<T, KMajor, MNMajor>("dU = G·V (K, MN)", precision, s.M, s.N, s.K, s.repeats, multiprocessors);
    failures += !checkShape<T, MNMajor, MNMajor>("dV = Gᵀ·U (MN, MN)", precision, s.M, s.N, s.K, s.repeats, multiprocessors);
  }
  return failures;
}

}  // namespace
}  // namespace infonce::cuda

int main() {
  using namespace infonce::cuda;
  cudaDeviceProp device;
  check(cudaGetDeviceProperties(&device, 0), "reading the GPU");
  std::printf("%s (compute capability %d.%d)\n", device.name, device.major, device.minor);
  if (device.major != 10 || device.minor != 0) {
    std::printf("skipped: this tcgen05 build needs compute capability 10.0 (sm_100a)\n");
    return 3;
  }
  const int failures = checkAll<__nv_bfloat16>("bf16", device.multiProcessorCount) +
                       checkAll<__half>("fp16", device.multiProcessorCount);
  std::printf("%s\n", failures ? "some products are off" : "every product within tolerance");
  return failures ? 1 : 0;
}
