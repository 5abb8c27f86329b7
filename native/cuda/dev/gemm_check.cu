// The panel kernels' main loop (panel_gemm.cuh) on its own, in llm.c's dev/cuda manner: each operand
// layout the panel pass uses, on random bf16 and fp16 matrices, checked against a float64 product of
// the same rounded values on the host, then timed. When the whole-loss checks of bench/gpu-check.sh
// fail on the panel schedule, this says whether the main loop is at fault and for which layout.
//
//   C (M×N, fp32) = A·B, K deep:   S = U·Vᵀ    A K-contiguous (rows of U), B K-contiguous (rows of V)
//                                  dU = G·V    A K-contiguous (rows of G), B N-contiguous (V along D)
//                                  dV = Gᵀ·U   A M-contiguous (G read transposed), B N-contiguous
// FLOPs: 2·M·N·K a product. Bytes: (M + N)·K·2 in, M·N·4 out.
//
// Build and run on a GPU of sm_80 or newer (bench/gpu-check.sh does):
//   nvcc -std=c++17 --expt-relaxed-constexpr -O3 -arch=sm_90 -Inative/include -Inative/cuda \
//        native/cuda/dev/gemm_check.cu -o build-gpu/gemm_check && build-gpu/gemm_check
// Exits non-zero when a product is off.
#include <cuda_runtime.h>

#include <cstdio>

#include "panels/panel_gemm.cuh"
#include "dev/product_check.h"

namespace infonce::cuda {
namespace {

using panel::KContiguous;
using panel::MContiguous;
using panel::NContiguous;

template <class Layout>
constexpr bool kContiguous = std::is_same<Layout, KContiguous>::value;

// One block tile of C per block: x over N, y over M; W: the warps (panel_gemm.cuh: EightWarps for
// the statistics and G kernels, FourWarps for dU and dV).
template <class Op, class ALayout, class BLayout, class W>
__global__ void __launch_bounds__(W::threads, 1)
    gemmCheckKernel(const typename Op::Element* a, int64_t lda, const typename Op::Element* b, int64_t ldb, float* c,
                    int64_t ldc, int64_t depth) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  using T = typename Op::Element;
  extern __shared__ __align__(16) unsigned char shared[];
  const int64_t m0 = int64_t(blockIdx.y) * panel::kTile, n0 = int64_t(blockIdx.x) * panel::kTile;
  const T* aTile = kContiguous<ALayout> ? a + m0 * lda : a + m0;  // element (m, k): a[m·lda + k] or a[k·lda + m]
  const T* bTile = kContiguous<BLayout> ? b + n0 * ldb : b + n0;  // element (k, n): b[n·ldb + k] or b[k·ldb + n]
  typename W::Accumulators acc;
  panel::gemmTile<Op, ALayout, BLayout, W>(acc, aTile, lda, bTile, ldb, depth / panel::kDepth, reinterpret_cast<T*>(shared));
  const panel::WarpLanes<W> at;
  for (int m = 0; m < W::fragmentRows; ++m)
    for (int h = 0; h < 2; ++h)
      for (int n = 0; n < W::fragmentCols; ++n)
        for (int q = 0; q < 2; ++q) c[(m0 + at.row(m, h)) * ldc + n0 + at.col(n, q)] = acc[m][n][2 * h + q];
#endif
}

using dev::check;

// C = A·B for one layout on the sm_80 loop, checked and timed; prints one line.
template <class Op, class ALayout, class BLayout, class W>
bool checkLayout(const char* name, const char* precision, int64_t M, int64_t N, int64_t K, int repeats) {
  using T = typename Op::Element;
  const dev::Product<T> product(M, N, K, kContiguous<ALayout>, kContiguous<BLayout>);
  const int64_t lda = kContiguous<ALayout> ? K : M, ldb = kContiguous<BLayout> ? K : N;
  constexpr int shared = panel::gemmSharedBytes<ALayout, BLayout>();
  auto kernel = gemmCheckKernel<Op, ALayout, BLayout, W>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared), "shared memory");
  const dim3 grid(unsigned(N / panel::kTile), unsigned(M / panel::kTile));
  const auto launch = [&] {
    kernel<<<grid, W::threads, shared>>>(product.aDevice, lda, product.bDevice, ldb, product.cDevice, N, K);
  };
  launch();
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "run");
  const auto error = product.error();
  return product.report("mma.sync", precision, name, error, product.tflops(repeats, launch));
}

template <class Op>
int checkAll(const char* precision) {
  int failures = 0;
  // Small (a few tiles, one depth step past the 4-stage ring) and large (timed).
  struct Shape {
    int64_t M, N, K;
    int repeats;
  };
  for (const Shape& s : {Shape{256, 384, 160, 1}, Shape{8192, 8192, 1024, 10}}) {
    const int64_t M = s.M, N = s.N, K = s.K;
    const int repeats = s.repeats;
    using panel::EightWarps, panel::FourWarps;
    failures += !checkLayout<Op, KContiguous, KContiguous, EightWarps>("S = U·Vᵀ (K, K), 8 warps", precision, M, N, K, repeats);
    failures += !checkLayout<Op, KContiguous, NContiguous, EightWarps>("dU = G·V (K, N), 8 warps", precision, M, N, K, repeats);
    failures += !checkLayout<Op, MContiguous, NContiguous, EightWarps>("dV = Gᵀ·U (M, N), 8 warps", precision, M, N, K, repeats);
    // The dU and dV kernels' own loop: 4 warps of 64 × 64 (beside the 8-warp figures above).
    failures += !checkLayout<Op, KContiguous, NContiguous, FourWarps>("dU = G·V (K, N), 4 warps", precision, M, N, K, repeats);
    failures += !checkLayout<Op, MContiguous, NContiguous, FourWarps>("dV = Gᵀ·U (M, N), 4 warps", precision, M, N, K, repeats);
  }
  return failures;
}

}  // namespace
}  // namespace infonce::cuda

int main() {
  int device = 0;
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, device) != cudaSuccess || properties.major < 8) {
    std::printf("gemm_check: needs a GPU of compute capability 8.0 or newer\n");
    return 2;
  }
  std::printf("gemm_check on %s (sm_%d%d)\n", properties.name, properties.major, properties.minor);
  const int failures = infonce::cuda::checkAll<infonce::cuda::Bf16Operand>("bf16") +
                       infonce::cuda::checkAll<infonce::cuda::Fp16Operand>("fp16");
  std::printf("%d of 20 products off\n", failures);
  return failures == 0 ? 0 : 1;
}
