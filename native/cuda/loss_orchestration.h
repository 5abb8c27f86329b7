// The host side of the CUDA loss: plans the launches, owns the device memory of one call, runs
// normalisation, the two passes and the reductions on one stream.
#pragma once

#include "infonce_cuda_abi.h"

namespace infonce::cuda {

// Throws Failure.
void contrastiveLoss(const InfonceCudaLossArgs& args, InfonceCudaLossResult& result);

}  // namespace infonce::cuda
