// Arithmetic the epilogues of both passes share, written once for the device and the host: the host
// emulation (panel_emulation.cpp) runs this same code against the float64 reference in the tests, on
// machines without a GPU.
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define INFONCE_EPILOGUE __host__ __device__ __forceinline__
#else
#define INFONCE_EPILOGUE inline
#endif

namespace infonce::cuda {

// exp(x) of a float: the fast hardware approximation on the device (2 ulp plus ~1.2 ulp per unit of
// |x|; these terms are below 1 and feed a 16-bit G or an fp32 sum), the library's on the host.
INFONCE_EPILOGUE float fastExp(float x) {
#ifdef __CUDA_ARCH__
  return __expf(x);
#else
  return std::exp(x);
#endif
}

// Merges a partial (tileMax, tileSum relative to tileMax) into a running log-sum-exp state.
INFONCE_EPILOGUE void mergeLogSumExp(float& max, double& sum, float tileMax, double tileSum) {
  if (!(tileMax > -INFINITY)) return;
  if (tileMax <= max) {
    sum += tileSum * exp(double(tileMax) - double(max));
  } else {
    sum = sum * exp(double(max) - double(tileMax)) + tileSum;
    max = tileMax;
  }
}

// One exponential per logit, where a block of logits allows it (the panel schedule's epilogues).
//
// Every logit enters two softmaxes, its row's and its column's, and both passes need a term of each:
// exp(S − a) for a shift a of the row and exp(S − b) for a shift b of the column. On the GPU an
// exponential is a special-function instruction (16 a clock per SM on sm_80 and sm_90, against 2,048
// tensor-core FLOPs a clock and more), so two per logit cost ~25% of the product's time at D = 1,024
// and as much as the product at D = 256. The second one factors, for any reference K:
//   exp(S − b) = exp(S − a) · exp(a − K) · exp(K − b),
// one exponential per logit and one per row and per column of the block. In fp32 that is exact to
// rounding while the factors stay far from underflow and overflow, so a block takes it only when all
// its shifts lie within kOneExponentialSpread below K. A term lost to underflow is then below
// e^(40 − 87) = e⁻⁴⁷ of its line's largest term (fp32's smallest normal is e^−87.3). Otherwise, with a
// very large scale s and lines far apart, or a line wholly masked (−10³⁰), the block takes two
// exponentials per logit, as before.
constexpr float kOneExponentialSpread = 40.0f;

// `reference` is the largest shift of the block, `lowest` the smallest (+∞ and −∞ when a side has no
// lines: then nothing is factored, and any answer is right). False for NaN.
INFONCE_EPILOGUE bool oneExponentialFits(float reference, float lowest) {
  return reference - lowest <= kOneExponentialSpread;
}

// A partial sum Σ exp(S − shift) restated relative to the line's tile max, for the merge: the
// statistics pass's column partials are relative to their warp's reference K when it took one
// exponential, to the tile max otherwise (then the factor is 1 and no exponential is taken).
INFONCE_EPILOGUE double partialAtMax(float sum, float shift, float tileMax) {
  if (sum == 0.0f || shift == tileMax) return double(sum);
  return double(sum) * double(expf(shift - tileMax));
}

// One line of a tile (a row or a column) merged into its running (max, Σ) from the partials of the
// warp parts that hold it, in part order: each part's max over its share of the line, its count of
// logits equal to the max it compared with (kept exact: a confident model's loss is all in them; a
// part whose max is below the tile's has none), and Σ exp(S − shift) of the rest, where shift is
// the tile max (shift null) or the part's reference K (one exponential per logit). Partials of part
// p sit at index p·stride.
INFONCE_EPILOGUE void mergeTilePartials(int parts, int stride, const float* max, const float* ties, const float* sum,
                                        const float* shift, float& runningMax, double& runningSum) {
  float tileMax = -INFINITY;
  for (int p = 0; p < parts; ++p) tileMax = fmaxf(tileMax, max[p * stride]);
  double tileSum = 0;
  for (int p = 0; p < parts; ++p)
    tileSum += partialAtMax(ties[p * stride], max[p * stride], tileMax) +
               partialAtMax(sum[p * stride], shift ? shift[p * stride] : tileMax, tileMax);
  mergeLogSumExp(runningMax, runningSum, tileMax, tileSum);
}

}  // namespace infonce::cuda
