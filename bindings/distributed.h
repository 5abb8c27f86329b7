// infonce/distributed: the MPI world (mpiOpen, mpiBytesSent, mpiClose) and the loss of this rank's
// shard of a batch sharded across processes (distributedContrastiveLoss, a Promise).
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value mpiOpen(const Napi::CallbackInfo& info);
Napi::Value mpiBytesSent(const Napi::CallbackInfo& info);
Napi::Value mpiClose(const Napi::CallbackInfo& info);
Napi::Value distributedContrastiveLoss(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
