// The sm_90a main loop (panel_gemm_sm90.cuh: TMA + mbarriers + wgmma, warp-specialised) on its own,
// in the manner of gemm_check.cu, for the three operand layouts of the panel pass:
//   S = U·Vᵀ    A K-major (rows of U), B K-major (rows of V)
//   dU = G·V    A K-major (rows of G), B MN-major (V along D)
//   dV = Gᵀ·U   A MN-major (G read transposed), B MN-major (U along D)
// on random bf16 and fp16 matrices, checked against a float64 product of the same rounded values,
// then timed beside the sm_80 loop's figures that gemm_check prints for the same shapes.
//
// Build and run on an H100/H200 (bench/gpu-check.sh does; bench/gpu-pack.sh builds it):
//   nvcc -std=c++17 --expt-relaxed-constexpr -O3 -gencode arch=compute_90a,code=sm_90a \
//        -Inative/include -Inative/cuda native/cuda/dev/wgmma_check.cu -o build-gpu/wgmma_check
// Exits 0 when every product is within tolerance, 1 when one is off, 2 when CUDA fails, 3 when the
// GPU is not compute capability 9.0 (wgmma exists on sm_90a only).
#include <cuda_runtime.h>

#include <cstdio>
#include <type_traits>

#include "sm90a/panel_gemm_sm90.cuh"
#include "sm90a/tensor_maps.h"
#include "dev/product_check.h"

namespace infonce::cuda {
namespace {

// One 128×128 block tile of C (fp32, row-major, ldc) per block: x over N, y over M.
using sm90::KMajor;
using sm90::MNMajor;

template <typename T, class ALayout, class BLayout>
__global__ void __launch_bounds__(sm90::kThreads, 1)
    wgmmaCheckKernel(const __grid_constant__ CUtensorMap aMap, const __grid_constant__ CUtensorMap bMap, float* c,
                     int64_t ldc, int depth) {
  extern __shared__ __align__(1024) unsigned char shared[];
  float acc[sm90::kAccumulators];
  const int m0 = int(blockIdx.y) * sm90::kTile, n0 = int(blockIdx.x) * sm90::kTile;
  const int consumer = sm90::gemmTile<T, ALayout, BLayout>(acc, &aMap, m0, 0, &bMap, n0, 0, depth, shared);
  if (consumer < 0) return;
  const sm90::WarpgroupLanes at(threadIdx.x % 128);
#pragma unroll
  for (int e = 0; e < sm90::kAccumulators; ++e)
    c[int64_t(m0 + consumer * 64 + at.row(e)) * ldc + n0 + at.col(e)] = acc[e];
}

using dev::check;

// C = A·B for one layout on the sm_90a loop, checked and timed; prints one line.
template <typename T, class ALayout, class BLayout>
bool checkShape(const char* name, const char* precision, int64_t M, int64_t N, int64_t K, int repeats) {
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
  auto kernel = wgmmaCheckKernel<T, ALayout, BLayout>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sm90::kSharedBytes), "shared memory");
  const dim3 grid(unsigned(N / sm90::kTile), unsigned(M / sm90::kTile));
  const auto launch = [&] {
    kernel<<<grid, sm90::kThreads, sm90::kSharedBytes>>>(aMap.map, bMap.map, product.cDevice, N, int(K));
  };
  launch();
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "run");
  const auto error = product.error();
  return product.report("wgmma", precision, name, error, product.tflops(repeats, launch));
}

template <typename T>
int checkAll(const char* precision) {
  int failures = 0;
  // One tile and one stage; several tiles with the stage ring wrapping and a last stage half deep
  // (K = 672: 10½ stages of 64, as the dU splits of 32-deep steps may end); the timed shape of gemm_check.
  struct Shape {
    int64_t M, N, K;
    int repeats;
  };
  for (const Shape& s : {Shape{128, 128, 64, 1}, Shape{256, 384, 672, 1}, Shape{8192, 8192, 1024, 10}}) {
    failures += !checkShape<T, KMajor, KMajor>("S = U·Vᵀ (K, K)", precision, s.M, s.N, s.K, s.repeats);
    failures += !checkShape<T, KMajor, MNMajor>("dU = G·V (K, MN)", precision, s.M, s.N, s.K, s.repeats);
    failures += !checkShape<T, MNMajor, MNMajor>("dV = Gᵀ·U (MN, MN)", precision, s.M, s.N, s.K, s.repeats);
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
  if (device.major != 9 || device.minor != 0) {
    std::printf("skipped: wgmma needs compute capability 9.0 (sm_90a)\n");
    return 3;
  }
  const int failures = checkAll<__nv_bfloat16>("bf16") + checkAll<__half>("fp16");
  std::printf("%s\n", failures ? "some products are off" : "every product within tolerance");
  return failures ? 1 : 0;
}
