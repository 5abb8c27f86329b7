// Host side of the sm_90a main loop (panel_gemm_sm90.cuh): the TMA descriptors ("tensor maps") of its
// operands, made by the driver's cuTensorMapEncodeTiled, which is found at run time through the CUDA
// runtime (cudaGetDriverEntryPointByVersion): the backend links no driver library, so a machine
// without a driver still loads it and says so. Used by the sm_90a kernels (statistics_pass_sm90.cu,
// panel_gradients_sm90.cu) and by their development check (dev/wgmma_check.cu).
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "sm90a/panel_gemm_sm90.cuh"

namespace infonce::cuda::sm90 {

struct TensorMapResult {
  CUtensorMap map;
  std::string error;  // empty on success
};

// The map of an operand with `lines` M/N lines and `depth` K in its storage order: K-major is
// lines × depth (K contiguous), MN-major depth × lines (M/N contiguous); the boxes of
// panel_gemm_sm90.cuh, 128-byte swizzle. Reads past the extents (a last partial stage) give zeros.
// Elements are 16-bit: bf16 when `bfloat16`, else fp16.
template <class Layout>
TensorMapResult operandMap(const void* data, int64_t lines, int64_t depth, bool bfloat16) {
  TensorMapResult result{};
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* function = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &function, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      function = nullptr;
    (void)cudaGetLastError();
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(function);
  }();
  if (!encode) {
    result.error = "the driver has no cuTensorMapEncodeTiled (TMA needs CUDA 12 or newer)";
    return result;
  }
  constexpr bool kMajor = std::is_same<Layout, KMajor>::value;
  const cuuint64_t inner = cuuint64_t(kMajor ? depth : lines), outer = cuuint64_t(kMajor ? lines : depth);
  const cuuint64_t dims[2] = {inner, outer};
  const cuuint64_t strides[1] = {inner * 2};  // bytes between rows: a multiple of 16 (extents are multiples of 128)
  const cuuint32_t box[2] = {kBoxInner<Layout>, kBoxOuter<Layout>};
  const cuuint32_t elementStrides[2] = {1, 1};
  const CUresult status =
      encode(&result.map, bfloat16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2,
             const_cast<void*>(data), dims, strides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
             CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (status != CUDA_SUCCESS)
    result.error = "cuTensorMapEncodeTiled failed (CUresult " + std::to_string(int(status)) + ") for a " +
                   std::to_string(outer) + " × " + std::to_string(inner) + " operand";
  return result;
}

// The same, or a std::runtime_error naming `what` (the launchers turn it into their error string).
template <class Layout>
CUtensorMap operandMapOrThrow(const void* data, int64_t lines, int64_t depth, bool bfloat16, const char* what) {
  const TensorMapResult made = operandMap<Layout>(data, lines, depth, bfloat16);
  if (!made.error.empty()) throw std::runtime_error(std::string(what) + ": " + made.error);
  return made.map;
}

}  // namespace infonce::cuda::sm90
