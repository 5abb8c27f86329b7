// The tile kernels for portable: see tile_kernels.inl (one implementation) and simd/portable.h (the vectors).
#include "simd/portable.h"
#include "tile_kernels.h"

namespace infonce::cpu::portable {
#include "tile_kernels.inl"
}  // namespace infonce::cpu::portable
