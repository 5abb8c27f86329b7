// The CUDA backend as the addon sees it: found and opened on first use (dlopen), never linked, so
// the addon loads on machines without CUDA. Nothing here needs a CUDA header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "infonce.h"
#include "infonce_cuda_abi.h"

namespace infonce {

// Where to look for infonce_cuda.so before the folder of the addon. Set by the JavaScript loader when
// the optional CUDA package is installed. INFONCE_CUDA_LIBRARY (a developer override) comes first,
// but only once a caller has asked for the GPU by name (see cudaApi).
void setCudaLibraryPath(const std::string& path);

struct CudaAvailability {
  bool available = false;
  ErrorCode code = ErrorCode::CudaNotBuilt;  // why not, when not available
  std::string reason;
  std::string library;  // the file that was (or would have been) opened
  int devices = 0;
  // What the backend was built with, space-separated, when it could be opened (with or without a GPU).
  bool built = false;
  std::string architectures;  // "sm_75 sm_80 ... compute_90 sm_90a sm_100a"
  std::string mainLoops;      // "tiles sm80 sm90a sm100a"
};

// Opens the backend and counts GPUs, once; later calls return the same answer. Never throws. What
// device 'auto' and backendInfo() use: alone, it never loads INFONCE_CUDA_LIBRARY.
const CudaAvailability& cudaAvailability();
// The backend's table, for a caller that asked for the GPU by name (backend 'cuda', DeviceTensors, the
// self-test); if the backend is not open yet, INFONCE_CUDA_LIBRARY is tried first. Throws Error with
// the reason when it is not available.
const InfonceCudaApi& cudaApi();
// Throws Error with the code matching `status` (InvalidArgument, CudaOutOfMemory, CudaLaunch, ...).
void throwCudaStatus(InfonceCudaStatus status, const char* message);

// A matrix for the GPU: host fp32 memory, or device memory of a DeviceTensor.
struct CudaMatrix {
  const void* data = nullptr;
  bool onDevice = false;
  InfonceDtype dtype = INFONCE_DTYPE_FLOAT32;
};

struct CudaLossCall {
  int device = 0;
  CudaMatrix x, y;
  bool gradOnDevice = false;  // result.gradX/gradY point to device memory
  bool forceSmallTiles = false;
  // Experimental: the gradient pass as panels of GEMM-shaped kernels (16-bit precisions on sm_80+;
  // the tile kernel elsewhere). Opt-in until a GPU run has checked it against the reference.
  bool panelGradients = false;
  // In development: a main loop the call must run on, or fail (INFONCE_CUDA_WGMMA=1: the sm_90a loop on
  // 9.0 GPUs; INFONCE_CUDA_TCGEN05=1: the sm_100a loop on 10.0 GPUs); AUTO: the package's choice.
  InfonceMainLoop requiredLoop = INFONCE_MAIN_LOOP_AUTO;
};

// The loss on a GPU: the same problem and result as the CPU kernels (problem.x/y are ignored; the
// matrices come from `call`). With `shard`, this rank's share of a sharded batch (problem.cols and
// result.gradY are this rank's; problem.columnGroups the batch's). Throws Error.
void contrastiveLossCuda(const LossProblem& problem, const CudaLossCall& call, LossResult& result,
                         const InfonceCudaShard* shard = nullptr);

}  // namespace infonce
