// The exported C table of infonce_cuda.so: every entry catches everything and returns a status.
#include <cstdio>
#include <cstring>
#include <string>

#include "failure.h"
#include "infonce_cuda_abi.h"
#include "loss_orchestration.h"
#include "row_kernels.h"
#include "self_test.h"

namespace infonce::cuda {
namespace {

void writeError(char* error, size_t size, const std::string& message) {
  if (!error || size == 0) return;
  std::strncpy(error, message.c_str(), size - 1);
  error[size - 1] = '\0';
}

template <typename Body>
InfonceCudaStatus guarded(char* error, size_t size, Body body) {
  try {
    body();
    return INFONCE_CUDA_OK;
  } catch (const Failure& f) {
    writeError(error, size, f.what());
    return f.status();
  } catch (const std::exception& e) {
    writeError(error, size, e.what());
    return INFONCE_CUDA_LAUNCH;
  }
}

InfonceCudaStatus deviceCount(int* count, char* error, size_t size) {
  return guarded(error, size, [&] {
    *count = 0;
    const cudaError_t status = cudaGetDeviceCount(count);
    if (status == cudaErrorNoDevice || (status == cudaSuccess && *count == 0)) {
      (void)cudaGetLastError();
      throw Failure(INFONCE_CUDA_NO_DEVICE, "the NVIDIA driver reports no usable GPU");
    }
    if (status == cudaErrorInsufficientDriver) {
      (void)cudaGetLastError();
      int driver = 0;
      cudaDriverGetVersion(&driver);
      throw Failure(INFONCE_CUDA_NO_DRIVER,
                    driver == 0 ? "no NVIDIA driver found (libcuda.so.1 is not installed or not loadable)"
                                : "the NVIDIA driver supports CUDA " + std::to_string(driver / 1000) + "." +
                                      std::to_string(driver % 1000 / 10) + ", older than the CUDA " +
                                      std::to_string(CUDART_VERSION / 1000) + " runtime this build needs: update the driver");
    }
    check(status, "counting the GPUs");
  });
}

InfonceCudaStatus deviceInfo(int device, InfonceCudaDeviceInfo* info, char* error, size_t size) {
  return guarded(error, size, [&] {
    cudaDeviceProp p;
    check(cudaGetDeviceProperties(&p, device), "reading the GPU's properties");
    std::memset(info, 0, sizeof *info);
    std::snprintf(info->name, sizeof info->name, "%s", p.name);
    info->major = p.major;
    info->minor = p.minor;
    info->multiprocessors = p.multiProcessorCount;
    check(cudaSetDevice(device), "selecting the GPU");
    check(cudaMemGetInfo(&info->freeMemory, &info->totalMemory), "reading the GPU's memory");
    cudaDriverGetVersion(&info->driverVersion);
    cudaRuntimeGetVersion(&info->runtimeVersion);
  });
}

InfonceCudaStatus allocate(int device, size_t bytes, void** pointer, char* error, size_t size) {
  return guarded(error, size, [&] {
    check(cudaSetDevice(device), "selecting the GPU");
    const cudaError_t status = cudaMalloc(pointer, bytes);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free = 0, total = 0;
      cudaMemGetInfo(&free, &total);
      throw Failure(statusOf(status), "allocating " + std::to_string(bytes >> 20) + " MiB on the GPU failed (" +
                                          std::to_string(free >> 20) + " MiB free of " + std::to_string(total >> 20) +
                                          ")");
    }
  });
}

InfonceCudaStatus release(int device, void* pointer, char* error, size_t size) {
  return guarded(error, size, [&] {
    check(cudaSetDevice(device), "selecting the GPU");
    check(cudaFree(pointer), "freeing GPU memory");
  });
}

InfonceCudaStatus upload(int device, void* destination, InfonceDtype dtype, const float* source, size_t count,
                         char* error, size_t size) {
  return guarded(error, size, [&] {
    check(cudaSetDevice(device), "selecting the GPU");
    if (dtype == INFONCE_DTYPE_FLOAT32) {
      check(cudaMemcpy(destination, source, count * sizeof(float), cudaMemcpyHostToDevice), "uploading");
      return;
    }
    DeviceBuffer staging(count * sizeof(float), "uploading", 0);
    check(cudaMemcpy(staging.as<void>(), source, count * sizeof(float), cudaMemcpyHostToDevice), "uploading");
    check(convertFromFloat(staging.as<float>(), destination, dtype, count, 0), "converting");
    check(cudaDeviceSynchronize(), "uploading");
  });
}

InfonceCudaStatus download(int device, float* destination, const void* source, InfonceDtype dtype, size_t count,
                           char* error, size_t size) {
  return guarded(error, size, [&] {
    check(cudaSetDevice(device), "selecting the GPU");
    if (dtype == INFONCE_DTYPE_FLOAT32) {
      check(cudaMemcpy(destination, source, count * sizeof(float), cudaMemcpyDeviceToHost), "downloading");
      return;
    }
    DeviceBuffer staging(count * sizeof(float), "downloading", 0);
    check(convertToFloat(source, dtype, staging.as<float>(), count, 0), "converting");
    check(cudaMemcpy(destination, staging.as<void>(), count * sizeof(float), cudaMemcpyDeviceToHost), "downloading");
  });
}

InfonceCudaStatus loss(const InfonceCudaLossArgs* args, InfonceCudaLossResult* result, char* error, size_t size) {
  return guarded(error, size, [&] { contrastiveLoss(*args, *result); });
}

InfonceCudaStatus selectDevice(int device, char* error, size_t size) {
  return guarded(error, size, [&] { check(cudaSetDevice(device), "selecting the GPU"); });
}

InfonceCudaStatus runSelfTest(int device, char* report, size_t size) {
  std::string text;
  const InfonceCudaStatus status = guarded(report, size, [&] { text = selfTest(device); });
  if (status == INFONCE_CUDA_OK) writeError(report, size, text);
  return status;
}

// The build's own account of itself (CMakeLists.txt defines INFONCE_CUDA_BUILT_ARCHITECTURES from the
// architectures it compiled for).
#ifndef INFONCE_CUDA_BUILT_ARCHITECTURES
#define INFONCE_CUDA_BUILT_ARCHITECTURES "unknown"
#endif
constexpr const char* kMainLoops = "tiles sm80"
#ifdef INFONCE_HAVE_SM90A
                                   " sm90a"
#endif
#ifdef INFONCE_HAVE_SM100A
                                   " sm100a"
#endif
    ;

const InfonceCudaApi table = {INFONCE_CUDA_ABI_VERSION, deviceCount, deviceInfo, allocate, release, upload, download,
                              loss, selectDevice, runSelfTest, INFONCE_CUDA_BUILT_ARCHITECTURES, kMainLoops};

}  // namespace
}  // namespace infonce::cuda

extern "C" __attribute__((visibility("default"))) const InfonceCudaApi* infonce_cuda_api(void) {
  return &infonce::cuda::table;
}
