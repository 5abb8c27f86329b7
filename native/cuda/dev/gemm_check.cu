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

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <random>
#include <vector>

#include "../panel_gemm.cuh"

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

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
    std::exit(2);
  }
}

template <typename T>
T toElement(float v);
template <>
__nv_bfloat16 toElement(float v) { return __float2bfloat16_rn(v); }
template <>
__half toElement(float v) { return __float2half_rn(v); }

// C = A·B for one layout: returns the largest |error| / (‖row of A‖·‖column of B‖), and prints it.
template <class Op, class ALayout, class BLayout>
bool checkLayout(const char* name, const char* precision, int64_t M, int64_t N, int64_t K, int repeats) {
  using T = typename Op::Element;
  std::mt19937 random(12345);
  std::normal_distribution<float> gaussian;
  std::vector<float> a(M * K), b(K * N);  // logical A[m][k], B[k][n], already rounded to T
  for (float& v : a) v = float(toElement<T>(gaussian(random)));
  for (float& v : b) v = float(toElement<T>(gaussian(random)));
  // Storage in the layout the kernel reads.
  std::vector<T> aStored(M * K), bStored(K * N);
  const int64_t lda = kContiguous<ALayout> ? K : M, ldb = kContiguous<BLayout> ? K : N;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) aStored[kContiguous<ALayout> ? m * lda + k : k * lda + m] = toElement<T>(a[m * K + k]);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) bStored[kContiguous<BLayout> ? n * ldb + k : k * ldb + n] = toElement<T>(b[k * N + n]);
  T *aDevice, *bDevice;
  float* cDevice;
  check(cudaMalloc(&aDevice, sizeof(T) * M * K), "cudaMalloc");
  check(cudaMalloc(&bDevice, sizeof(T) * K * N), "cudaMalloc");
  check(cudaMalloc(&cDevice, sizeof(float) * M * N), "cudaMalloc");
  check(cudaMemcpy(aDevice, aStored.data(), sizeof(T) * M * K, cudaMemcpyHostToDevice), "upload");
  check(cudaMemcpy(bDevice, bStored.data(), sizeof(T) * K * N, cudaMemcpyHostToDevice), "upload");
  constexpr int shared = panel::gemmSharedBytes<ALayout, BLayout>();
  auto kernel = gemmCheckKernel<Op, ALayout, BLayout>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared), "shared memory");
  const dim3 grid(unsigned(N / panel::kTile), unsigned(M / panel::kTile));
  kernel<<<grid, panel::kThreads, shared>>>(aDevice, lda, bDevice, ldb, cDevice, N, K);
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "run");
  std::vector<float> c(M * N);
  check(cudaMemcpy(c.data(), cDevice, sizeof(float) * M * N, cudaMemcpyDeviceToHost), "download");

  // The reference on a sample of rows (all columns): float64 products of the rounded values.
  double worst = 0;
  for (int64_t m = 0; m < M; m += std::max<int64_t>(1, M / 64))
    for (int64_t n = 0; n < N; ++n) {
      double dot = 0, aa = 0, bb = 0;
      for (int64_t k = 0; k < K; ++k) {
        dot += double(a[m * K + k]) * b[k * N + n];
        aa += double(a[m * K + k]) * a[m * K + k];
        bb += double(b[k * N + n]) * b[k * N + n];
      }
      worst = std::max(worst, std::fabs(c[m * N + n] - dot) / std::sqrt(aa * bb));
    }
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int r = 0; r < repeats; ++r) kernel<<<grid, panel::kThreads, shared>>>(aDevice, lda, bDevice, ldb, cDevice, N, K);
  cudaEventRecord(stop);
  check(cudaEventSynchronize(stop), "timing");
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  const double tflops = 2.0 * M * N * K * repeats / (ms * 1e-3) / 1e12;
  // fp32 accumulation of K products: errors of order √K·2⁻²⁴ relative to ‖a‖‖b‖; 10⁻⁵ is far above.
  const bool ok = worst < 1e-5;
  std::printf("%s %-5s %-28s M=%lld N=%lld K=%lld: max error %.2e (relative to |a||b|), %.1f TFLOP/s\n", ok ? "ok  " : "FAIL",
              precision, name, (long long)M, (long long)N, (long long)K, worst, tflops);
  cudaFree(aDevice);
  cudaFree(bDevice);
  cudaFree(cDevice);
  return ok;
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
