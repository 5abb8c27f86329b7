// Checks the emulated tensor-core products (the path compiled for sm_75) against the real mma on an
// sm_80+ GPU, fragment for fragment, so that the Turing path is tested on whatever GPU CI gets.
// Inputs are small dyadic numbers: every product and sum is exact, so the two must agree exactly.
#include <cstdio>
#include <string>

#include "failure.h"
#include "operand_types.cuh"
#include "self_test.h"

namespace infonce::cuda {
namespace {

__device__ float dyadic(int lane, int index) { return float(((lane * 7 + index * 13) % 17) - 8) * 0.125f; }

template <typename T>
__global__ void halfKernel(float* worst) {
  const int lane = threadIdx.x;
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; ++r) a[r] = pack(T(dyadic(lane, 2 * r)), T(dyadic(lane, 2 * r + 1)));
  for (int r = 0; r < 2; ++r) b[r] = pack(T(dyadic(lane, 9 + 2 * r)), T(dyadic(lane, 10 + 2 * r)));
  float real[4] = {1, 2, 3, 4}, emulated[4] = {1, 2, 3, 4};
  mma16x8x16(real, a, b, T());
  mma16x8x16Emulated<T>(emulated, a, b);
  float error = 0;
  for (int e = 0; e < 4; ++e) error = fmaxf(error, fabsf(real[e] - emulated[e]));
  atomicMax(reinterpret_cast<int*>(worst), __float_as_int(error));  // non-negative floats order as ints
}

__global__ void tf32Kernel(float* worst) {
  const int lane = threadIdx.x;
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; ++r) a[r] = __float_as_uint(dyadic(lane, r));
  for (int r = 0; r < 2; ++r) b[r] = __float_as_uint(dyadic(lane, 5 + r));
  float real[4] = {1, 2, 3, 4}, emulated[4] = {1, 2, 3, 4};
  mma16x8x8Tf32(real, a, b);
  mma16x8x8Tf32Emulated(emulated, a, b);
  float error = 0;
  for (int e = 0; e < 4; ++e) error = fmaxf(error, fabsf(real[e] - emulated[e]));
  atomicMax(reinterpret_cast<int*>(worst), __float_as_int(error));
}

}  // namespace

std::string selfTest(int device) {
  check(cudaSetDevice(device), "selecting the GPU");
  DeviceBuffer worst(3 * sizeof(float), "the self-test", 0);
  check(cudaMemset(worst.as<void>(), 0, 3 * sizeof(float)), "the self-test");
  halfKernel<__nv_bfloat16><<<1, 32>>>(worst.as<float>());
  halfKernel<__half><<<1, 32>>>(worst.as<float>() + 1);
  tf32Kernel<<<1, 32>>>(worst.as<float>() + 2);
  check(cudaGetLastError(), "launching the self-test");
  float errors[3];
  check(cudaMemcpy(errors, worst.as<void>(), sizeof errors, cudaMemcpyDeviceToHost), "the self-test");
  char report[256];
  std::snprintf(report, sizeof report, "emulated vs tensor-core mma, largest difference: bf16 %g, fp16 %g, tf32 %g",
                errors[0], errors[1], errors[2]);
  if (errors[0] != 0 || errors[1] != 0 || errors[2] != 0) throw Failure(INFONCE_CUDA_LAUNCH, report);
  return report;
}

}  // namespace infonce::cuda
