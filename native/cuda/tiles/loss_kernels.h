// Host-side declarations of the kernels' launchers, instantiated for every operand type and tile
// shape in statistics_pass.cu, gradient_pass.cu (the two passes) and row_kernels.cu (row-wise helpers).
#pragma once

#include <cuda_runtime.h>

#include "loss_params.cuh"
#include "tiles/logit_tile.cuh"
#include "operand_types.cuh"

namespace infonce::cuda {

#define INFONCE_FOR_EACH_KERNEL(X) \
  X(Bf16Operand, LargeTiles)       \
  X(Bf16Operand, SmallTiles)       \
  X(Fp16Operand, LargeTiles)       \
  X(Fp16Operand, SmallTiles)       \
  X(Tf32x1Operand, LargeTiles)     \
  X(Tf32x1Operand, SmallTiles)     \
  X(Tf32x3Operand, LargeTiles)     \
  X(Tf32x3Operand, SmallTiles)

// panelLoop: S from the panel kernels' main loop (16-bit operands, large tiles, sm_80+; experimental).
template <class Op, class Shape>
cudaError_t launchStatistics(const LossParams<typename Op::Element>& params, int launch, bool panelLoop,
                             cudaStream_t stream);
template <class Op, class Shape>
cudaError_t statisticsOccupancy(bool panelLoop, int* blocksPerMultiprocessor);
template <class Op, class Shape>
cudaError_t launchGradients(const LossParams<typename Op::Element>& params, int launch, cudaStream_t stream);
template <class Op, class Shape>
cudaError_t gradientOccupancy(int* blocksPerMultiprocessor);

}  // namespace infonce::cuda
