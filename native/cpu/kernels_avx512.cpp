// The tile kernels for avx512: see tile_kernels.inl (one implementation) and simd/avx512.h (the vectors).
#include "simd/avx512.h"
#include "tile_kernels.h"

namespace infonce::cpu::avx512 {
#include "tile_kernels.inl"
}  // namespace infonce::cpu::avx512
