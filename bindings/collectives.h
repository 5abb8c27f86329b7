// The communicator's collectives on typed arrays (infonce/distributed: comm.allGather, comm.broadcast,
// comm.barrier), each a Promise settled on a worker thread.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value mpiAllGather(const Napi::CallbackInfo& info);
Napi::Value mpiBroadcast(const Napi::CallbackInfo& info);
Napi::Value mpiBarrier(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
