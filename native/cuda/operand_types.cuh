// Tensor-core operand types: how a warp loads its fragments of A (16×k) and B (k×8) from shared
// memory and multiplies them into a 16×8 fp32 accumulator (mma.sync). One struct per precision, all
// with the same members, so the kernels are written once.
//
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16 / m16n8k8"), with g = lane / 4 and
// t = lane % 4:
//   C (16×8 fp32): c0, c1 at (row g, cols 2t, 2t+1); c2, c3 at (row g+8, cols 2t, 2t+1).
//   16-bit A (16×16): reg0 (g, 2t..2t+1), reg1 (g+8, 2t..), reg2 (g, 2t+8..), reg3 (g+8, 2t+8..).
//   16-bit B (16×8):  reg0 (k 2t..2t+1, n g), reg1 (k 2t+8..2t+9, n g).
//   TF32 A (16×8): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4).   TF32 B (8×8): b0 (k t, n g), b1 (k t+4, n g).
// Below sm_80 (Turing) there is no bf16/tf32 mma: the same fragments are multiplied by an emulation
// that gathers each lane's row of A and column of B with warp shuffles (slow, but the same numbers).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace infonce::cuda {

__device__ __forceinline__ uint32_t bitsOf(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }
__device__ __forceinline__ uint32_t bitsOf(__half v) { return __half_as_ushort(v); }
__device__ __forceinline__ float floatOf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float floatOf(__half v) { return __half2float(v); }
__device__ __forceinline__ float floatOf(float v) { return v; }

// Two 16-bit values in one register, the lower k (or column) in the low half, as mma expects.
template <typename T>
__device__ __forceinline__ uint32_t pack(T low, T high) {
  return bitsOf(low) | (bitsOf(high) << 16);
}

__device__ __forceinline__ float lowFloat(uint32_t r, __nv_bfloat16) { return __bfloat162float(__ushort_as_bfloat16(r & 0xffff)); }
__device__ __forceinline__ float highFloat(uint32_t r, __nv_bfloat16) { return __bfloat162float(__ushort_as_bfloat16(r >> 16)); }
__device__ __forceinline__ float lowFloat(uint32_t r, __half) { return __half2float(__ushort_as_half(r & 0xffff)); }
__device__ __forceinline__ float highFloat(uint32_t r, __half) { return __half2float(__ushort_as_half(r >> 16)); }

// Rounds to TF32 (10-bit mantissa, to nearest, ties away from zero) and keeps the fp32 bit layout.
__device__ __forceinline__ uint32_t toTf32(float v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
#else
  return (__float_as_uint(v) + 0x1000u) & 0xffffe000u;  // sign-magnitude: adding half an ulp rounds away
#endif
}

// ---- the emulated products (any architecture) ----
// Not inlined: 32 shuffles inlined into every unrolled product would make Turing's code (and its
// compile) many times larger, and that path is about compatibility, not speed. Values in and out
// (float4, uint4), so that the accumulators stay in registers across the call.

template <typename T>
__device__ __noinline__ float4 mma16x8x16Emulated(float4 acc, uint4 a, uint2 b) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  float c[4] = {acc.x, acc.y, acc.z, acc.w};
  for (int source = 0; source < 4; ++source) {  // the lane of each group holding k = 2·source.. and 2·source+8..
    const uint32_t rowLow = __shfl_sync(0xffffffffu, a.x, 4 * g + source);
    const uint32_t rowHigh = __shfl_sync(0xffffffffu, a.z, 4 * g + source);
    const uint32_t row8Low = __shfl_sync(0xffffffffu, a.y, 4 * g + source);
    const uint32_t row8High = __shfl_sync(0xffffffffu, a.w, 4 * g + source);
    for (int half = 0; half < 2; ++half) {
      const int n = 2 * t + half;
      const uint32_t colLow = __shfl_sync(0xffffffffu, b.x, 4 * n + source);
      const uint32_t colHigh = __shfl_sync(0xffffffffu, b.y, 4 * n + source);
      const float b0 = lowFloat(colLow, T()), b1 = highFloat(colLow, T());
      const float b8 = lowFloat(colHigh, T()), b9 = highFloat(colHigh, T());
      c[half] += lowFloat(rowLow, T()) * b0 + highFloat(rowLow, T()) * b1 + lowFloat(rowHigh, T()) * b8 +
                 highFloat(rowHigh, T()) * b9;
      c[2 + half] += lowFloat(row8Low, T()) * b0 + highFloat(row8Low, T()) * b1 + lowFloat(row8High, T()) * b8 +
                     highFloat(row8High, T()) * b9;
    }
  }
  return make_float4(c[0], c[1], c[2], c[3]);
}

static __device__ __noinline__ float4 mma16x8x8Tf32Emulated(float4 acc, uint4 a, uint2 b) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  float c[4] = {acc.x, acc.y, acc.z, acc.w};
  for (int source = 0; source < 4; ++source) {
    const float a0 = __uint_as_float(__shfl_sync(0xffffffffu, a.x, 4 * g + source));
    const float a1 = __uint_as_float(__shfl_sync(0xffffffffu, a.y, 4 * g + source));
    const float a2 = __uint_as_float(__shfl_sync(0xffffffffu, a.z, 4 * g + source));
    const float a3 = __uint_as_float(__shfl_sync(0xffffffffu, a.w, 4 * g + source));
    for (int half = 0; half < 2; ++half) {
      const int n = 2 * t + half;
      const float b0 = __uint_as_float(__shfl_sync(0xffffffffu, b.x, 4 * n + source));
      const float b1 = __uint_as_float(__shfl_sync(0xffffffffu, b.y, 4 * n + source));
      c[half] += a0 * b0 + a2 * b1;
      c[2 + half] += a1 * b0 + a3 * b1;
    }
  }
  return make_float4(c[0], c[1], c[2], c[3]);
}

// The same, on the fragments' array form.
template <typename T>
__device__ __forceinline__ void mma16x8x16Emulated(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  const float4 r = mma16x8x16Emulated<T>(make_float4(c[0], c[1], c[2], c[3]), make_uint4(a[0], a[1], a[2], a[3]),
                                         make_uint2(b[0], b[1]));
  c[0] = r.x, c[1] = r.y, c[2] = r.z, c[3] = r.w;
}
__device__ __forceinline__ void mma16x8x8Tf32Emulated(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  const float4 r = mma16x8x8Tf32Emulated(make_float4(c[0], c[1], c[2], c[3]), make_uint4(a[0], a[1], a[2], a[3]),
                                         make_uint2(b[0], b[1]));
  c[0] = r.x, c[1] = r.y, c[2] = r.z, c[3] = r.w;
}

// ---- the tensor-core products (sm_80 and newer) ----

__device__ __forceinline__ void mma16x8x16(float c[4], const uint32_t a[4], const uint32_t b[2], __nv_bfloat16) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  mma16x8x16Emulated<__nv_bfloat16>(c, a, b);
#endif
}

__device__ __forceinline__ void mma16x8x16(float c[4], const uint32_t a[4], const uint32_t b[2], __half) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  mma16x8x16Emulated<__half>(c, a, b);
#endif
}

__device__ __forceinline__ void mma16x8x8Tf32(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  mma16x8x8Tf32Emulated(c, a, b);
#endif
}

// ---- the operand types ----
//
// Each loads fragments from shared memory in one of two storages: "rows" ([row][k], k contiguous)
// or "transposed" ([k][row], row contiguous), and multiplies. `ld` is the leading dimension in
// elements; k0, r0 (n0) are the fragment's first k and row (column).

// 16-bit elements (bf16 or fp16), m16n8k16.
template <typename T>
struct HalfOperand {
  using Element = T;
  static constexpr int kStep = 16;
  static constexpr int pad = 8;  // row stride ≡ 4 words (mod 32): the 8×4 lanes of a fragment load hit 32 banks

  __device__ static T fromFloat(float v);
  __device__ static void loadA(uint32_t a[4], const T* s, int ld, int r0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const T* p = s + (r0 + g) * ld + k0 + 2 * t;
    a[0] = *reinterpret_cast<const uint32_t*>(p);
    a[1] = *reinterpret_cast<const uint32_t*>(p + 8 * ld);
    a[2] = *reinterpret_cast<const uint32_t*>(p + 8);
    a[3] = *reinterpret_cast<const uint32_t*>(p + 8 * ld + 8);
  }
  __device__ static void loadATransposed(uint32_t a[4], const T* s, int ld, int r0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const T* p = s + (k0 + 2 * t) * ld + r0 + g;
    a[0] = pack(p[0], p[ld]);
    a[1] = pack(p[8], p[ld + 8]);
    a[2] = pack(p[8 * ld], p[9 * ld]);
    a[3] = pack(p[8 * ld + 8], p[9 * ld + 8]);
  }
  __device__ static void loadB(uint32_t b[2], const T* s, int ld, int n0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const T* p = s + (n0 + g) * ld + k0 + 2 * t;
    b[0] = *reinterpret_cast<const uint32_t*>(p);
    b[1] = *reinterpret_cast<const uint32_t*>(p + 8);
  }
  __device__ static void loadBTransposed(uint32_t b[2], const T* s, int ld, int n0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const T* p = s + (k0 + 2 * t) * ld + n0 + g;
    b[0] = pack(p[0], p[ld]);
    b[1] = pack(p[8 * ld], p[9 * ld]);
  }
  __device__ static void mma(float c[4], const uint32_t a[4], const uint32_t b[2]) { mma16x8x16(c, a, b, T()); }
};
template <>
__device__ __forceinline__ __nv_bfloat16 HalfOperand<__nv_bfloat16>::fromFloat(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half HalfOperand<__half>::fromFloat(float v) { return __float2half_rn(v); }

using Bf16Operand = HalfOperand<__nv_bfloat16>;
using Fp16Operand = HalfOperand<__half>;

// fp32 elements multiplied as TF32 (m16n8k8); with Split, as 3xTF32: each value is a big TF32 part
// plus a small one, and big·big + big·small + small·big recovers about fp32 accuracy.
template <bool Split>
struct Tf32Operand {
  using Element = float;
  static constexpr int kStep = 8;
  static constexpr int pad = 4;

  __device__ static float fromFloat(float v) { return v; }
  __device__ static void loadA(uint32_t a[4], const float* s, int ld, int r0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const float* p = s + (r0 + g) * ld + k0 + t;
    a[0] = __float_as_uint(p[0]);
    a[1] = __float_as_uint(p[8 * ld]);
    a[2] = __float_as_uint(p[4]);
    a[3] = __float_as_uint(p[8 * ld + 4]);
  }
  __device__ static void loadATransposed(uint32_t a[4], const float* s, int ld, int r0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const float* p = s + (k0 + t) * ld + r0 + g;
    a[0] = __float_as_uint(p[0]);
    a[1] = __float_as_uint(p[8]);
    a[2] = __float_as_uint(p[4 * ld]);
    a[3] = __float_as_uint(p[4 * ld + 8]);
  }
  __device__ static void loadB(uint32_t b[2], const float* s, int ld, int n0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const float* p = s + (n0 + g) * ld + k0 + t;
    b[0] = __float_as_uint(p[0]);
    b[1] = __float_as_uint(p[4]);
  }
  __device__ static void loadBTransposed(uint32_t b[2], const float* s, int ld, int n0, int k0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const float* p = s + (k0 + t) * ld + n0 + g;
    b[0] = __float_as_uint(p[0]);
    b[1] = __float_as_uint(p[4 * ld]);
  }
  // The fragments hold raw fp32 bits; rounding to TF32 (and the split) happens here.
  __device__ static void mma(float c[4], const uint32_t a[4], const uint32_t b[2]) {
    uint32_t aBig[4], bBig[2];
    for (int i = 0; i < 4; ++i) aBig[i] = toTf32(__uint_as_float(a[i]));
    for (int i = 0; i < 2; ++i) bBig[i] = toTf32(__uint_as_float(b[i]));
    if (Split) {
      uint32_t aSmall[4], bSmall[2];
      for (int i = 0; i < 4; ++i) aSmall[i] = toTf32(__uint_as_float(a[i]) - __uint_as_float(aBig[i]));
      for (int i = 0; i < 2; ++i) bSmall[i] = toTf32(__uint_as_float(b[i]) - __uint_as_float(bBig[i]));
      mma16x8x8Tf32(c, aSmall, bBig);  // the small terms first, so they are not lost against the big one
      mma16x8x8Tf32(c, aBig, bSmall);
    }
    mma16x8x8Tf32(c, aBig, bBig);
  }
};

using Tf32x3Operand = Tf32Operand<true>;
using Tf32x1Operand = Tf32Operand<false>;

}  // namespace infonce::cuda
