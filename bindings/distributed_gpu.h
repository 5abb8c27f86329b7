// infonce/distributed on GPUs: this rank's share of a sharded loss, over the process's NCCL
// communicator (bindings/nccl.h). A Promise.
#pragma once

#include <napi.h>

namespace infonce::bindings {

// (x, y, { rows, cols, dim, logScale?, symmetric?, targets?, groups?, precision?, gpuSchedule?, memoryBudget? })
Napi::Value ncclDistributedContrastiveLoss(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
