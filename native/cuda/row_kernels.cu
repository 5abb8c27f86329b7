#include "row_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tiles/logit_tile.cuh"

namespace infonce::cuda {
namespace {

constexpr int kThreads = 256;
constexpr double kEpsilon = 1e-12;

__device__ __forceinline__ float load(const float* p, int64_t k) { return p[k]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t k) { return __bfloat162float(p[k]); }
__device__ __forceinline__ float load(const __half* p, int64_t k) { return __half2float(p[k]); }
__device__ __forceinline__ void store(float* p, int64_t k, float v) { p[k] = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t k, float v) { p[k] = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store(__half* p, int64_t k, float v) { p[k] = __float2half_rn(v); }

// Σ over the block in a fixed tree order; every thread gets the total.
__device__ double blockSum(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = scratch[0];
  __syncthreads();
  return total;
}

template <typename In, typename Out>
__global__ void normalizeKernel(const In* x, int64_t rows, int64_t dim, Out* u, int64_t paddedRows, int64_t paddedDim,
                                double* norm, unsigned long long* firstBadRow) {
  __shared__ double scratch[kThreads];
  for (int64_t r = blockIdx.x; r < paddedRows; r += gridDim.x) {
    Out* out = u + r * paddedDim;
    if (r >= rows) {
      for (int64_t k = threadIdx.x; k < paddedDim; k += blockDim.x) store(out, k, 0.0f);
      continue;
    }
    const In* row = x + r * dim;
    double squares = 0;  // in double: fp32 squares of values above 1.8e19 would overflow
    for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) {
      const double v = load(row, k);
      squares += v * v;
    }
    const double total = blockSum(squares, scratch);
    if (!isfinite(total)) {
      if (threadIdx.x == 0) atomicMin(firstBadRow, static_cast<unsigned long long>(r));
      continue;
    }
    const double length = sqrt(total);
    if (threadIdx.x == 0) norm[r] = length;
    const float inverse = static_cast<float>(1.0 / fmax(length, kEpsilon));
    for (int64_t k = threadIdx.x; k < paddedDim; k += blockDim.x) store(out, k, k < dim ? load(row, k) * inverse : 0.0f);
  }
}

template <typename In>
__global__ void normalizationBackwardKernel(const float* grad, int replicas, int64_t paddedRows, int64_t paddedDim,
                                            const In* x, const double* norm, int64_t rows, int64_t dim, float* out) {
  __shared__ double scratch[kThreads];
  const int64_t replicaStride = paddedRows * paddedDim;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const In* row = x + r * dim;
    float* result = out + r * dim;
    double along = 0;
    for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) {
      float g = 0.0f;
      for (int p = 0; p < replicas; ++p) g += grad[p * replicaStride + r * paddedDim + k];
      result[k] = g;
      along += double(load(row, k)) * g;
    }
    const double dot = blockSum(along, scratch);  // also orders the writes above before the reads below
    const double length = norm[r];
    const double inverse = 1.0 / fmax(length, kEpsilon);
    const double radial = length > kEpsilon ? dot * inverse * inverse : 0.0;  // ⟨u, g⟩ / ‖x‖
    for (int64_t k = threadIdx.x; k < dim; k += blockDim.x)
      result[k] = static_cast<float>((result[k] - double(load(row, k)) * radial) * inverse);
  }
}

__global__ void fillKernel(float* data, int64_t count, float value) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < count; k += int64_t(gridDim.x) * blockDim.x)
    data[k] = value;
}

__global__ void identityKernel(int32_t* targets, int64_t rows) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < rows; k += int64_t(gridDim.x) * blockDim.x)
    targets[k] = static_cast<int32_t>(k);
}

__global__ void markKernel(const int32_t* targets, int64_t rows, float* weight, float value) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < rows; k += int64_t(gridDim.x) * blockDim.x)
    weight[targets[k]] = value;
}

__global__ void mergeKernel(const float* max, const double* sum, int replicas, int64_t n, float* maxOut,
                            float* logSumOut, double* lseOut) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    float m = -INFINITY;
    double l = 0;
    for (int p = 0; p < replicas; ++p) mergeLogSumExp(m, l, max[p * n + k], sum[p * n + k]);
    maxOut[k] = m;
    logSumOut[k] = static_cast<float>(log(l));
    lseOut[k] = double(m) + log(l);
  }
}

__global__ void shareKernel(const double* lse, const float* globalMax, int64_t n, double* share) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x)
    share[k] = lse[k] > -INFINITY ? exp(lse[k] - double(globalMax[k])) : 0.0;
}

// One block: each thread a fixed stride of rows, then a fixed tree.
__global__ void lossTermsKernel(const int32_t* targets, const float* positive, const double* rowLse,
                                const double* colLse, const float* rowMax, const float* colMax, int64_t rows,
                                double* out) {
  __shared__ double scratch[kThreads];
  double terms[6] = {0, 0, 0, 0, 0, 0};
  for (int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    const int32_t t = targets[i];
    const double pos = positive[i];
    terms[0] += rowLse[i] - pos;
    terms[1] += colLse[t] - pos;
    terms[2] += positive[i] >= rowMax[i] ? 1.0 : 0.0;
    terms[3] += positive[i] >= colMax[t] ? 1.0 : 0.0;
    terms[4] += pos;
    terms[5] += rowLse[i];
  }
  for (int k = 0; k < 6; ++k) {
    const double total = blockSum(terms[k], scratch);
    if (threadIdx.x == 0) out[k] = total;
  }
}

__global__ void sumKernel(const double* values, int64_t count, double* out) {
  __shared__ double scratch[kThreads];
  double total = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) total += values[k];
  total = blockSum(total, scratch);
  if (threadIdx.x == 0) *out = total;
}

template <typename Out>
__global__ void fromFloatKernel(const float* in, Out* out, int64_t count) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < count; k += int64_t(gridDim.x) * blockDim.x)
    store(out, k, in[k]);
}

template <typename In>
__global__ void toFloatKernel(const In* in, float* out, int64_t count) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < count; k += int64_t(gridDim.x) * blockDim.x)
    out[k] = load(in, k);
}

int gridFor(int64_t work) {
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}
int rowGrid(int64_t rows) { return static_cast<int>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }

template <typename In, typename Out>
cudaError_t normalizeTyped(const void* x, int64_t rows, int64_t dim, void* u, int64_t paddedRows, int64_t paddedDim,
                           double* norm, unsigned long long* firstBadRow, cudaStream_t stream) {
  normalizeKernel<In, Out><<<rowGrid(paddedRows), kThreads, 0, stream>>>(
      static_cast<const In*>(x), rows, dim, static_cast<Out*>(u), paddedRows, paddedDim, norm, firstBadRow);
  return cudaGetLastError();
}

template <typename In>
cudaError_t normalizeFrom(const void* x, int64_t rows, int64_t dim, void* u, InfonceDtype outType, int64_t paddedRows,
                          int64_t paddedDim, double* norm, unsigned long long* firstBadRow, cudaStream_t stream) {
  switch (outType) {
    case INFONCE_DTYPE_BFLOAT16:
      return normalizeTyped<In, __nv_bfloat16>(x, rows, dim, u, paddedRows, paddedDim, norm, firstBadRow, stream);
    case INFONCE_DTYPE_FLOAT16:
      return normalizeTyped<In, __half>(x, rows, dim, u, paddedRows, paddedDim, norm, firstBadRow, stream);
    default:
      return normalizeTyped<In, float>(x, rows, dim, u, paddedRows, paddedDim, norm, firstBadRow, stream);
  }
}

}  // namespace

cudaError_t normalizeRows(const void* x, InfonceDtype inType, int64_t rows, int64_t dim, void* u, InfonceDtype outType,
                          int64_t paddedRows, int64_t paddedDim, double* norm, unsigned long long* firstBadRow,
                          cudaStream_t stream) {
  switch (inType) {
    case INFONCE_DTYPE_BFLOAT16:
      return normalizeFrom<__nv_bfloat16>(x, rows, dim, u, outType, paddedRows, paddedDim, norm, firstBadRow, stream);
    case INFONCE_DTYPE_FLOAT16:
      return normalizeFrom<__half>(x, rows, dim, u, outType, paddedRows, paddedDim, norm, firstBadRow, stream);
    default:
      return normalizeFrom<float>(x, rows, dim, u, outType, paddedRows, paddedDim, norm, firstBadRow, stream);
  }
}

cudaError_t normalizationBackward(const float* grad, int replicas, int64_t paddedRows, int64_t paddedDim,
                                  const void* x, InfonceDtype inType, const double* norm, int64_t rows, int64_t dim,
                                  float* out, cudaStream_t stream) {
  switch (inType) {
    case INFONCE_DTYPE_BFLOAT16:
      normalizationBackwardKernel<<<rowGrid(rows), kThreads, 0, stream>>>(
          grad, replicas, paddedRows, paddedDim, static_cast<const __nv_bfloat16*>(x), norm, rows, dim, out);
      break;
    case INFONCE_DTYPE_FLOAT16:
      normalizationBackwardKernel<<<rowGrid(rows), kThreads, 0, stream>>>(
          grad, replicas, paddedRows, paddedDim, static_cast<const __half*>(x), norm, rows, dim, out);
      break;
    default:
      normalizationBackwardKernel<<<rowGrid(rows), kThreads, 0, stream>>>(
          grad, replicas, paddedRows, paddedDim, static_cast<const float*>(x), norm, rows, dim, out);
  }
  return cudaGetLastError();
}

cudaError_t fill(float* data, int64_t count, float value, cudaStream_t stream) {
  fillKernel<<<gridFor(count), kThreads, 0, stream>>>(data, count, value);
  return cudaGetLastError();
}

cudaError_t identityTargets(int32_t* targets, int64_t rows, cudaStream_t stream) {
  identityKernel<<<gridFor(rows), kThreads, 0, stream>>>(targets, rows);
  return cudaGetLastError();
}

cudaError_t markTargets(const int32_t* targets, int64_t rows, float* weight, float value, cudaStream_t stream) {
  markKernel<<<gridFor(rows), kThreads, 0, stream>>>(targets, rows, weight, value);
  return cudaGetLastError();
}

cudaError_t mergeStatistics(const float* max, const double* sum, int replicas, int64_t n, float* maxOut,
                            float* logSumOut, double* lseOut, cudaStream_t stream) {
  mergeKernel<<<gridFor(n), kThreads, 0, stream>>>(max, sum, replicas, n, maxOut, logSumOut, lseOut);
  return cudaGetLastError();
}

cudaError_t shareOfColumns(const double* lse, const float* globalMax, int64_t n, double* share, cudaStream_t stream) {
  shareKernel<<<gridFor(n), kThreads, 0, stream>>>(lse, globalMax, n, share);
  return cudaGetLastError();
}

cudaError_t lossTerms(const int32_t* targets, const float* positive, const double* rowLse, const double* colLse,
                      const float* rowMax, const float* colMax, int64_t rows, double* out, cudaStream_t stream) {
  lossTermsKernel<<<1, kThreads, 0, stream>>>(targets, positive, rowLse, colLse, rowMax, colMax, rows, out);
  return cudaGetLastError();
}

cudaError_t sumDoubles(const double* values, int64_t count, double* out, cudaStream_t stream) {
  sumKernel<<<1, kThreads, 0, stream>>>(values, count, out);
  return cudaGetLastError();
}

cudaError_t convertFromFloat(const float* in, void* out, InfonceDtype outType, int64_t count, cudaStream_t stream) {
  switch (outType) {
    case INFONCE_DTYPE_BFLOAT16:
      fromFloatKernel<<<gridFor(count), kThreads, 0, stream>>>(in, static_cast<__nv_bfloat16*>(out), count);
      break;
    case INFONCE_DTYPE_FLOAT16:
      fromFloatKernel<<<gridFor(count), kThreads, 0, stream>>>(in, static_cast<__half*>(out), count);
      break;
    default:
      return cudaMemcpyAsync(out, in, count * sizeof(float), cudaMemcpyDeviceToDevice, stream);
  }
  return cudaGetLastError();
}

cudaError_t convertToFloat(const void* in, InfonceDtype inType, float* out, int64_t count, cudaStream_t stream) {
  switch (inType) {
    case INFONCE_DTYPE_BFLOAT16:
      toFloatKernel<<<gridFor(count), kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(in), out, count);
      break;
    case INFONCE_DTYPE_FLOAT16:
      toFloatKernel<<<gridFor(count), kThreads, 0, stream>>>(static_cast<const __half*>(in), out, count);
      break;
    default:
      return cudaMemcpyAsync(out, in, count * sizeof(float), cudaMemcpyDeviceToDevice, stream);
  }
  return cudaGetLastError();
}

}  // namespace infonce::cuda
