// The process's NCCL communicator (infonce/distributed's ncclCommunicator): started over MPI (its
// unique id broadcast from rank 0) or alone as a world of one, and the three collectives the CUDA
// backend's sharded loss calls through (InfonceCudaCollectives). Nothing of NCCL enters the backend.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>

#include "infonce_cuda_abi.h"
#include "infonce_mpi_world.h"
#include "infonce_nccl.h"

namespace infonce::bindings {

struct NcclCommunicator {
  NcclComm comm = nullptr;
  int device = 0, rank = 0, size = 1;
  bool overMpi = false;  // false: a world of one, no MPI
  std::atomic<uint64_t> bytesSent{0};
  std::atomic<int> inFlight{0};  // calls using it: close() refuses meanwhile
  // Where the host-side agreements of a call go: MPI's world, or the world of one.
  const MpiWorld& hostWorld() const;
};

// The open communicator; throws Error(NcclFailed) when none is open (or it was closed, or broken
// by an earlier failure).
NcclCommunicator& openNcclCommunicator();
// The open communicator, marked in use (close() refuses) for as long as this lives.
class NcclUse {
 public:
  NcclUse();
  ~NcclUse();
  NcclUse(const NcclUse&) = delete;
  NcclUse& operator=(const NcclUse&) = delete;
  NcclCommunicator& communicator() const { return *communicator_; }

 private:
  NcclCommunicator* communicator_;
};

// After a sharded call: NCCL's asynchronous error, if any, breaks the communicator (aborted) and is thrown.
void checkNcclHealth(NcclCommunicator& communicator);
// The collectives for the CUDA backend, on this communicator.
InfonceCudaCollectives ncclCollectives(NcclCommunicator& communicator);

// ncclOpen(device, overMpi) → Promise<{ rank, size, device, library }>; ncclBytesSent(); ncclClose().
Napi::Value ncclOpen(const Napi::CallbackInfo& info);
Napi::Value ncclBytesSent(const Napi::CallbackInfo& info);
Napi::Value ncclClose(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
