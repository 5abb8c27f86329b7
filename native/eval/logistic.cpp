// Multinomial logistic regression (softmax regression) with L2 regularisation, for the linear probe
// of the evaluation: frozen embeddings in, class predictions out.
//
// FLOPs per iteration: 4·n·D·C (logits and gradient) for n examples, D features, C classes; full-batch
// Adam steps (the problem is small and convex: n of a few thousand, D of a few hundred).
#include <algorithm>
#include <cmath>
#include <vector>

#include "../cpu/thread_pool.h"
#include "infonce_eval.h"

namespace infonce {

void logisticRegression(const float* trainX, const int32_t* trainY, int64_t n, int64_t dim, int64_t classes,
                        double lambda, int iterations, const float* testX, int64_t m, int32_t* predictions,
                        int threads) {
  const int64_t P = (dim + 1) * classes;  // weights (dim × classes) then biases
  std::vector<double> w(P, 0.0), mAdam(P, 0.0), vAdam(P, 0.0), grad(P);
  std::vector<std::vector<double>> partial(threads > 0 ? threads : 1, std::vector<double>(P));
  const double rate = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int it = 1; it <= iterations; ++it) {
    cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
      std::vector<double>& g = partial[ctx.thread()];
      std::fill(g.begin(), g.end(), 0.0);
      std::vector<double> logits(classes);
      const auto rows = ctx.share(n);
      for (int64_t i = rows.begin; i < rows.end; ++i) {
        const float* x = trainX + i * dim;
        double top = -INFINITY;
        for (int64_t c = 0; c < classes; ++c) {
          double z = w[dim * classes + c];
          for (int64_t d = 0; d < dim; ++d) z += x[d] * w[d * classes + c];
          logits[c] = z;
          top = std::max(top, z);
        }
        double sum = 0;
        for (int64_t c = 0; c < classes; ++c) sum += (logits[c] = std::exp(logits[c] - top));
        for (int64_t c = 0; c < classes; ++c) {
          const double delta = logits[c] / sum - (trainY[i] == c ? 1.0 : 0.0);
          for (int64_t d = 0; d < dim; ++d) g[d * classes + c] += delta * x[d];
          g[dim * classes + c] += delta;
        }
      }
    });
    for (int64_t k = 0; k < P; ++k) {
      double g = 0;
      for (const auto& part : partial) g += part[k];  // fixed order: deterministic
      g /= double(n);
      if (k < dim * classes) g += lambda * w[k];  // the biases are not regularised
      mAdam[k] = b1 * mAdam[k] + (1 - b1) * g;
      vAdam[k] = b2 * vAdam[k] + (1 - b2) * g * g;
      const double mHat = mAdam[k] / (1 - std::pow(b1, it)), vHat = vAdam[k] / (1 - std::pow(b2, it));
      w[k] -= rate * mHat / (std::sqrt(vHat) + eps);
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    const float* x = testX + i * dim;
    int32_t best = 0;
    double bestScore = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) {
      double z = w[dim * classes + c];
      for (int64_t d = 0; d < dim; ++d) z += x[d] * w[d * classes + c];
      if (z > bestScore) bestScore = z, best = int32_t(c);
    }
    predictions[i] = best;
  }
}

}  // namespace infonce
