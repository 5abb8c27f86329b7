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

#include "../panel_gemm.cuh"
#include "product_check.h"

namespace infonce::cuda {
namespace {

using panel::KContiguous;
using panel::MContiguous;
using panel::NContiguous;

template <class Layout>
constexpr bool kContiguous = std::is_same<Layout, KContiguous>::value;

// One block tile of C per block: x over N, y over M.
template <class Op, class ALayout, class BLayout>
__global__ void __launch_bounds__(panel::kThreads, 1)
    gemmCheckKernel(const typename Op::Element* a, int64_t lda, const typename Op::Element* b, int64_t ldb, float* c,
                    int64_t ldc, int64_t depth) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  using T = typename Op::Element;
  extern __shared__ __align__(16) unsigned char shared[];
  const int64_t m0 = int64_t(blockIdx.y) * panel::kTile, n0 = int64_t(blockIdx.x) * panel::kTile;
  const T* aTile = kContiguous<ALayout> ? a + m0 * lda : a + m0;  // element (m, k): a[m·lda + k] or a[k·lda + m]
  const T* bTile = kContiguous<BLayout> ? b + n0 * ldb : b + n0;  // element (k, n): b[n·ldb + k] or b[k·ldb + n]
  panel::Accumulators acc;
  panel::gemmTile<Op, ALayout, BLayout>(acc, aTile, lda, bTile, ldb, depth / panel::kDepth, reinterpret_cast<T*>(shared));
  const panel::Lanes at;
  for (int m = 0; m < panel::kFragmentRows; ++m)
    for (int h = 0; h < 2; ++h)
      for (int n = 0; n < panel::kFragmentCols; ++n)
        for (int q = 0; q < 2; ++q) c[(m0 + at.row(m, h)) * ldc + n0 + at.col(n, q)] = acc[m][n][2 * h + q];
#endif
}

using dev::check;

// C = A·B for one layout on the sm_80 loop, checked and timed; prints one line.
template <class Op, class ALayout, class BLayout>
bool checkLayout(const char* name, const char* precision, int64_t M, int64_t N, int64_t K, int repeats) {
  using T = typename Op::Element;
  const dev::Product<T> product(M, N, K, kContiguous<ALayout>, kContiguous<BLayout>);
  const int64_t lda = kContiguous<ALayout> ? K : M, ldb = kContiguous<BLayout> ? K : N;
  constexpr int shared = panel::gemmSharedBytes<ALayout, BLayout>();
  auto kernel = gemmCheckKernel<Op, ALayout, BLayout>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared), "shared memory");
  const dim3 grid(unsigned(N / panel::kTile), unsigned(M / panel::kTile));
  const auto launch = [&] {
    kernel<<<grid, panel::kThreads, shared>>>(product.aDevice, lda, product.bDevice, ldb, product.cDevice, N, K);
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
    failures += !checkLayout<Op, KContiguous, KContiguous>("S = U·Vᵀ (K, K)", precision, M, N, K, repeats);
    failures += !checkLayout<Op, KContiguous, NContiguous>("dU = G·V (K, N)", precision, M, N, K, repeats);
    failures += !checkLayout<Op, MContiguous, NContiguous>("dV = Gᵀ·U (M, N)", precision, M, N, K, repeats);
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
  std::printf("%d of 12 products off\n", failures);
  return failures == 0 ? 0 : 1;
}
