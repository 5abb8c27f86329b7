#include "infonce.h"

namespace infonce {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "ERR_INVALID_ARG_VALUE";
    case ErrorCode::OutOfMemory: return "ERR_OUT_OF_MEMORY";
    case ErrorCode::CudaNotBuilt: return "ERR_CUDA_NOT_BUILT";
    case ErrorCode::CudaUnavailable: return "ERR_CUDA_UNAVAILABLE";
    case ErrorCode::CudaNoDevice: return "ERR_CUDA_NO_DEVICE";
    case ErrorCode::CudaOutOfMemory: return "ERR_CUDA_OOM";
    case ErrorCode::CudaLaunch: return "ERR_CUDA_LAUNCH";
    case ErrorCode::MpiUnavailable: return "ERR_MPI_UNAVAILABLE";
    case ErrorCode::MpiFailed: return "ERR_MPI";
    case ErrorCode::NcclUnavailable: return "ERR_NCCL_UNAVAILABLE";
    case ErrorCode::NcclFailed: return "ERR_NCCL";
    case ErrorCode::Internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace infonce
