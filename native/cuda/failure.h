// Errors inside the CUDA backend: a C++ exception that carries the ABI status and a message. It is
// caught at the C boundary (api.cu) and never crosses into the addon.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "infonce_cuda_abi.h"

namespace infonce::cuda {

class Failure : public std::runtime_error {
 public:
  Failure(InfonceCudaStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}
  InfonceCudaStatus status() const { return status_; }

 private:
  InfonceCudaStatus status_;
};

inline InfonceCudaStatus statusOf(cudaError_t error) {
  switch (error) {
    case cudaErrorMemoryAllocation: return INFONCE_CUDA_OUT_OF_MEMORY;
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable: return INFONCE_CUDA_NO_DEVICE;
    case cudaErrorInsufficientDriver:
    case cudaErrorNotSupported:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice: return INFONCE_CUDA_NO_DRIVER;
    default: return INFONCE_CUDA_LAUNCH;
  }
}

// Throws a Failure naming what failed if `error` is not cudaSuccess.
inline void check(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return;
  std::string message = std::string(what) + ": " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")";
  if (error == cudaErrorInsufficientDriver)
    message += "; the installed NVIDIA driver is older than this CUDA runtime (" + std::to_string(CUDART_VERSION / 1000) +
               "." + std::to_string(CUDART_VERSION % 1000 / 10) + ") needs: update the driver";
  (void)cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  throw Failure(statusOf(error), message);
}

// Device memory owned by one call, freed on every path out. Stream-ordered (cudaMallocAsync) from
// the device's default pool, which keeps freed memory for the next call: a training loop calls the
// loss with the same shapes every step, and cudaMalloc/cudaFree of gigabytes would cost
// milliseconds and synchronise the device each time.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, const char* what, cudaStream_t stream) : stream_(stream) {
    if (bytes == 0) bytes = 1;
    cudaError_t error = cudaMallocAsync(&data_, bytes, stream);
    if (error == cudaErrorMemoryAllocation) {
      // The pool keeps what earlier calls freed (keepPoolMemory): give it back to the device and
      // try once more before calling it out of memory.
      (void)cudaGetLastError();
      int device = 0;
      cudaMemPool_t pool;
      if (cudaStreamSynchronize(stream) == cudaSuccess && cudaGetDevice(&device) == cudaSuccess &&
          cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess && cudaMemPoolTrimTo(pool, 0) == cudaSuccess)
        error = cudaMallocAsync(&data_, bytes, stream);
    }
    if (error != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free = 0, total = 0;
      cudaMemGetInfo(&free, &total);
      throw Failure(statusOf(error), std::string("allocating ") + std::to_string(bytes >> 20) + " MiB for " + what +
                                         " failed (" + cudaGetErrorName(error) + "; " + std::to_string(free >> 20) +
                                         " MiB free of " + std::to_string(total >> 20) + ")");
    }
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), stream_(other.stream_) { other.data_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(stream_, other.stream_);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_) cudaFreeAsync(data_, stream_);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

// Lets the device's default memory pool keep what the calls free (once per device and process).
void keepPoolMemory(int device);

}  // namespace infonce::cuda
