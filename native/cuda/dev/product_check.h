// What the main-loop checks (gemm_check.cu, wgmma_check.cu) share on the host: random operands
// rounded to the 16-bit type, stored in the order a kernel reads, the float64 reference of their
// product, the timing and the one-line verdict. C (M×N) = A (M×K) · B (K×N).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace infonce::cuda::dev {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
    std::exit(2);
  }
}

template <typename T>
T toElement(float v);
template <>
inline __nv_bfloat16 toElement(float v) { return __float2bfloat16_rn(v); }
template <>
inline __half toElement(float v) { return __float2half_rn(v); }

// Logical A[m][k] and B[k][n] (already rounded to T), fixed seed, and their device copies in the
// storage orders the kernel reads: A K-contiguous [m][k] or M-contiguous [k][m]; B K-contiguous
// [n][k] or N-contiguous [k][n]. C starts as NaN, so an element no block wrote shows.
template <typename T>
struct Product {
  int64_t M, N, K;
  std::vector<float> a, b;
  T *aDevice = nullptr, *bDevice = nullptr;
  float* cDevice = nullptr;

  Product(int64_t m, int64_t n, int64_t k, bool aKContiguous, bool bKContiguous) : M(m), N(n), K(k), a(m * k), b(k * n) {
    std::mt19937 random(12345);
    std::normal_distribution<float> gaussian;
    for (float& v : a) v = float(toElement<T>(gaussian(random)));
    for (float& v : b) v = float(toElement<T>(gaussian(random)));
    std::vector<T> aStored(M * K), bStored(K * N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < K; ++j) aStored[aKContiguous ? i * K + j : j * M + i] = toElement<T>(a[i * K + j]);
    for (int64_t j = 0; j < K; ++j)
      for (int64_t i = 0; i < N; ++i) bStored[bKContiguous ? i * K + j : j * N + i] = toElement<T>(b[j * N + i]);
    check(cudaMalloc(&aDevice, sizeof(T) * M * K), "cudaMalloc");
    check(cudaMalloc(&bDevice, sizeof(T) * K * N), "cudaMalloc");
    check(cudaMalloc(&cDevice, sizeof(float) * M * N), "cudaMalloc");
    check(cudaMemcpy(aDevice, aStored.data(), sizeof(T) * M * K, cudaMemcpyHostToDevice), "upload");
    check(cudaMemcpy(bDevice, bStored.data(), sizeof(T) * K * N, cudaMemcpyHostToDevice), "upload");
    check(cudaMemset(cDevice, 0xff, sizeof(float) * M * N), "clearing C to NaN");
  }
  Product(const Product&) = delete;
  Product& operator=(const Product&) = delete;
  ~Product() {
    cudaFree(aDevice);
    cudaFree(bDevice);
    cudaFree(cDevice);
  }

  // The largest |C − A·B| / (‖row of A‖·‖column of B‖) over a sample of rows (all columns), the
  // reference in float64 from the rounded values; where it is; NaN (unwritten) counts as infinite.
  struct Error {
    double worst = 0;
    int64_t row = 0, col = 0;
  };
  Error error() const {
    std::vector<float> c(M * N);
    check(cudaMemcpy(c.data(), cDevice, sizeof(float) * M * N, cudaMemcpyDeviceToHost), "download");
    Error e;
    for (int64_t m = 0; m < M; m += std::max<int64_t>(1, M / 64))
      for (int64_t n = 0; n < N; ++n) {
        double dot = 0, aa = 0, bb = 0;
        for (int64_t k = 0; k < K; ++k) {
          dot += double(a[m * K + k]) * b[k * N + n];
          aa += double(a[m * K + k]) * a[m * K + k];
          bb += double(b[k * N + n]) * b[k * N + n];
        }
        const double relative = std::isfinite(c[m * N + n]) ? std::fabs(c[m * N + n] - dot) / std::sqrt(aa * bb) : INFINITY;
        if (!(relative <= e.worst)) e = {relative, m, n};
      }
    return e;
  }

  // TFLOP/s of `launch` run `repeats` times (2·M·N·K a run).
  template <class Launch>
  double tflops(int repeats, Launch launch) const {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    cudaEventRecord(start);
    for (int r = 0; r < repeats; ++r) launch();
    cudaEventRecord(stop);
    check(cudaEventSynchronize(stop), "timing");
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return 2.0 * double(M) * double(N) * double(K) * repeats / (ms * 1e-3) / 1e12;
  }

  // One line: ok/FAIL, the error, where, the speed. fp32 accumulation of K products errs by about
  // √K·2⁻²⁴ relative to ‖a‖‖b‖; 10⁻⁵ is far above that, far below a wrong element.
  bool report(const char* loop, const char* precision, const char* name, const Error& e, double speed) const {
    const bool ok = e.worst < 1e-5;
    std::printf("%s %-5s %s %-20s M=%lld N=%lld K=%lld: max error %.2e (relative to |a||b|; worst at row %lld, column %lld), "
                "%.1f TFLOP/s\n",
                ok ? "ok  " : "FAIL", precision, loop, name, (long long)M, (long long)N, (long long)K, e.worst, (long long)e.row,
                (long long)e.col, speed);
    return ok;
  }
};

}  // namespace infonce::cuda::dev
