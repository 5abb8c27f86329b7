// AdamW on the rows a batch touched (all rows when none are listed), and Σ x² for clipping.
//
// FLOPs ~10 a value updated; bytes: the rows' values, moments and gradients, read and written once.
#include <cmath>

#include "../cpu/thread_pool.h"
#include "infonce_optimizer.h"

namespace infonce {

void adamwRows(const AdamW& o, float* table, float* m, float* v, int64_t width, const int32_t* rows, int64_t count,
               const float* grads, int threads) {
  const double correction1 = 1.0 - std::pow(o.beta1, double(o.step));
  const double correction2 = 1.0 - std::pow(o.beta2, double(o.step));
  const float stepSize = float(o.learningRate / correction1);
  const float inverseCorrection2 = float(1.0 / correction2);
  const float decay = float(1.0 - o.learningRate * o.weightDecay);
  const float b1 = float(o.beta1), b2 = float(o.beta2), eps = float(o.epsilon), gs = float(o.gradientScale);
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto mine = ctx.share(count);
    for (int64_t k = mine.begin; k < mine.end; ++k) {
      const int64_t r = rows ? rows[k] : k;
      float* w = table + r * width;
      float* mr = m + r * width;
      float* vr = v + r * width;
      const float* gr = grads + k * width;
      for (int64_t e = 0; e < width; ++e) {
        const float g = gr[e] * gs;
        mr[e] = b1 * mr[e] + (1.0f - b1) * g;
        vr[e] = b2 * vr[e] + (1.0f - b2) * g * g;
        w[e] = w[e] * decay - stepSize * mr[e] / (std::sqrt(vr[e] * inverseCorrection2) + eps);
      }
    }
  });
}

double sumOfSquares(const float* x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * x[i];
  return sum;
}

}  // namespace infonce
