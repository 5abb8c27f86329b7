// infonce/distributed: the MPI world (mpiOpen, mpiBytesSent, mpiClose) and the loss of this rank's
// shard of a batch sharded across processes (distributedContrastiveLoss, a Promise).
#pragma once

#include <napi.h>

#include <mutex>

namespace infonce::bindings {

// MPI_THREAD_SERIALIZED: one MPI call in this process at a time, whichever worker thread makes it.
std::mutex& mpiCallLock();
// Throws Error(MpiUnavailable) once comm.close() has finalised MPI.
void requireMpiOpen();

Napi::Value mpiOpen(const Napi::CallbackInfo& info);
Napi::Value mpiBytesSent(const Napi::CallbackInfo& info);
Napi::Value mpiClose(const Napi::CallbackInfo& info);
Napi::Value distributedContrastiveLoss(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
