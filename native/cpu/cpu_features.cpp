// Run-time choice of the micro-kernel family. The prebuilt binary is compiled for baseline x86-64;
// only kernels_avx512.cpp and kernels_avx2.cpp use wider instructions, and only when the CPU (and
// the OS, which must save the wider registers) supports them.
#include <string>

#include "infonce.h"
#include "thread_pool.h"
#include "tile_kernels.h"

namespace infonce {
namespace {

struct Features {
  bool avx512 = false;
  bool avx2 = false;
  bool avx512bf16 = false;
};

Features detect() {
  Features f;
#if defined(INFONCE_X86_KERNELS)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  f.avx512bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  return f;
}

const Features& features() {
  static const Features f = detect();
  return f;
}

CpuIsa best() {
  if (features().avx512) return CpuIsa::Avx512;
  if (features().avx2) return CpuIsa::Avx2;
  return CpuIsa::Portable;
}

}  // namespace

bool cpuIsaSupported(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Auto:
    case CpuIsa::Portable: return true;
    case CpuIsa::Avx2: return features().avx2;
    case CpuIsa::Avx512: return features().avx512;
  }
  return false;
}

const char* cpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Auto: return cpuIsaName(best());
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Portable: return "portable";
  }
  return "portable";
}

CpuInfo cpuInfo() {
  CpuInfo info;
  info.avx512 = features().avx512;
  info.avx2 = features().avx2;
  info.avx512bf16 = features().avx512bf16;
  info.hardwareThreads = cpu::defaultThreadCount();
  info.selectedIsa = cpuIsaName(best());
  return info;
}

namespace cpu {

const TileKernels& selectTileKernels(CpuIsa isa) {
  if (isa == CpuIsa::Auto) isa = best();
  if (!cpuIsaSupported(isa))
    throw Error(ErrorCode::InvalidArgument,
                std::string("isa: this CPU does not support '") + cpuIsaName(isa) + "'");
  switch (isa) {
#if defined(INFONCE_X86_KERNELS)
    case CpuIsa::Avx512: {
      // The AVX-512 table, with the native bf16 products where the CPU has AVX512-BF16.
      static const TileKernels withBf16 = [] {
        TileKernels table = avx512::tileKernels();
        if (features().avx512bf16) table.bf16 = avx512bf16::bf16Products();
        return table;
      }();
      return withBf16;
    }
    case CpuIsa::Avx2: return avx2::tileKernels();
#endif
    default: return portable::tileKernels();
  }
}

}  // namespace cpu
}  // namespace infonce
