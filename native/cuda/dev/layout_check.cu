// The sm_90a main loop's shared-memory contract, checked on the host (no GPU needed): for every
// element a wgmma reads, the address that the loop's descriptors give it (encodeDescriptor,
// kDepthStep16 and consumerOffset of panel_gemm_sm90.cuh) under the PTX ISA's canonical layouts must
// be the address where TMA put that element. For 16-bit types and the 128-byte swizzle, in CUTLASS's
// notation (element strides; T = 8 elements = 16 bytes):
//   K-major   Swizzle<3,4,3> o ((8,m),(T,2)):((8T,SBO),(1,T))
//   MN-major  Swizzle<3,4,3> o ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO))
// Swizzle<3,4,3> on byte addresses: the 16-byte chunk (bits 4-6) XOR the row of 128 bytes within
// 1,024 (bits 7-9). TMA writes a box's row y, element x at y·128 + 2x bytes from its destination,
// through the same swizzle of the absolute address.
//
// test/cuda-layouts.test.ts builds and runs it; `--swap-offsets` swaps the descriptor's leading and
// stride byte offsets, a mistake the check must catch (exit 1). Exits 0 when every address agrees.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <utility>

#include "sm90a/panel_gemm_sm90.cuh"

namespace infonce::cuda::sm90 {
namespace {

bool swapOffsets = false;

uint32_t swizzle128(uint32_t address) { return address ^ (((address >> 7) & 7u) << 4); }

struct Fields {
  uint32_t start, leading, stride;
  unsigned mode;
};
Fields decode(uint64_t descriptor) {
  Fields f{uint32_t(descriptor & 0x3FFF) << 4, uint32_t((descriptor >> 16) & 0x3FFF) << 4,
           uint32_t((descriptor >> 32) & 0x3FFF) << 4, unsigned(descriptor >> 62)};
  if (swapOffsets) std::swap(f.leading, f.stride);
  return f;
}

// Where wgmma reads element (line mn, depth kk < 16) of the operand the descriptor describes.
template <class Layout>
uint32_t wgmmaAddress(uint64_t descriptor, uint32_t mn, uint32_t kk) {
  const Fields f = decode(descriptor);
  uint32_t logical;
  if constexpr (std::is_same<Layout, KMajor>::value)
    logical = f.start + (mn % 8) * 128 + (mn / 8) * f.stride + (kk % 8) * 2 + (kk / 8) * 16;
  else
    logical = f.start + (mn % 8) * 2 + ((mn / 8) % 8) * 16 + (mn / 64) * f.leading + (kk % 8) * 128 + (kk / 8) * f.stride;
  return swizzle128(logical);
}

// Where TMA put element (line, depth k < 64) of a stage at `stage` (stageOperand's boxes).
template <class Layout>
uint32_t tmaAddress(uint32_t stage, uint32_t line, uint32_t k) {
  if constexpr (std::is_same<Layout, KMajor>::value) return swizzle128(stage + line * 128 + k * 2);  // one 64 (K) × 128 box
  return swizzle128(stage + (line / 64) * kHalfStageBytes + k * 128 + (line % 64) * 2);          // two 64 × 64 boxes
}

// Operand A (each consumer's 64 lines) or B (128 lines) of one layout, every 16-deep step of a stage.
template <class Layout>
int check(const char* name, bool operandA) {
  int mismatches = 0;
  for (uint32_t stage : {0x0400u, 0x0400u + kStageBytes, 0x0400u + 3 * kStageBytes})  // 1,024-aligned
    for (int consumer = 0; consumer < (operandA ? kConsumers : 1); ++consumer)
      for (uint32_t step = 0; step < kDepth / 16; ++step) {
        const uint64_t descriptor =
            encodeDescriptor<Layout>(stage + (operandA ? consumerOffset(consumer) : 0)) + step * kDepthStep16<Layout>;
        if (decode(descriptor).mode != 1) {
          std::printf("FAIL %s: the descriptor's layout field is %u, not 1 (128-byte swizzle)\n", name, decode(descriptor).mode);
          return 1;
        }
        for (uint32_t mn = 0; mn < (operandA ? 64u : 128u); ++mn)
          for (uint32_t kk = 0; kk < 16; ++kk) {
            const uint32_t line = (operandA ? 64 * consumer : 0) + mn, k = 16 * step + kk;
            const uint32_t read = wgmmaAddress<Layout>(descriptor, mn, kk), written = tmaAddress<Layout>(stage, line, k);
            if (read != written && mismatches++ == 0)
              std::printf("FAIL %s: stage 0x%x, consumer %d, line %u, depth %u: wgmma reads 0x%x, TMA wrote 0x%x\n", name, stage,
                          consumer, line, k, read, written);
          }
      }
  if (mismatches == 0) std::printf("ok   %s: every element wgmma reads is where TMA wrote it\n", name);
  return mismatches ? 1 : 0;
}

}  // namespace
}  // namespace infonce::cuda::sm90

int main(int argc, char** argv) {
  using namespace infonce::cuda::sm90;
  for (int i = 1; i < argc; ++i) swapOffsets |= std::strcmp(argv[i], "--swap-offsets") == 0;
  const int failures = check<KMajor>("A, K-major (U, G rows)", true) + check<KMajor>("B, K-major (V rows)", false) +
                       check<MNMajor>("A, MN-major (Gᵀ)", true) + check<MNMajor>("B, MN-major (V, U along D)", false);
  return failures ? 1 : 0;
}
