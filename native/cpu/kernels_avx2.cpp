// The tile kernels for avx2: see tile_kernels.inl (one implementation) and simd/avx2.h (the vectors).
#include "simd/avx2.h"
#include "tile_kernels.h"

namespace infonce::cpu::avx2 {
#include "tile_kernels.inl"
}  // namespace infonce::cpu::avx2
