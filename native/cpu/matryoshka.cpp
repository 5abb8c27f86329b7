#include "matryoshka.h"

#include <cmath>
#include <cstring>

#include "thread_pool.h"

namespace infonce::cpu {

std::vector<double> prefixNorms(const float* m, int64_t rows, int64_t dim, const int64_t* dims, int count,
                                int threads) {
  std::vector<double> norms(static_cast<size_t>(count) * rows);
  parallelRun(threads, [&](const ParallelContext& ctx) {
    const auto mine = ctx.share(rows);
    for (int64_t r = mine.begin; r < mine.end; ++r) {
      const float* row = m + r * dim;
      double sum = 0;
      int64_t k = 0;
      for (int prefix = 0; prefix < count; ++prefix) {
        for (; k < dims[prefix]; ++k) sum += static_cast<double>(row[k]) * row[k];
        norms[prefix * rows + r] = std::sqrt(sum);
      }
    }
  });
  return norms;
}

void combinePrefixes(const LossProblem& p, const std::vector<LossResult>& perPrefix, LossResult& result) {
  result.prefixes.clear();
  result.loss = 0;
  for (int k = 0; k < p.prefixCount; ++k) {
    const LossResult& r = perPrefix[k];
    PrefixResult prefix;
    prefix.dim = p.prefixDims[k];
    prefix.weight = p.prefixWeights[k];
    prefix.loss = r.loss;
    prefix.accuracyRow = r.accuracyRow;
    prefix.accuracyCol = r.accuracyCol;
    result.prefixes.push_back(prefix);
    result.loss += prefix.weight * r.loss;
  }
  const LossResult& largest = perPrefix[p.prefixCount - 1];
  result.accuracyRow = largest.accuracyRow;
  result.accuracyCol = largest.accuracyCol;
  result.meanPositiveLogit = largest.meanPositiveLogit;
  result.meanRowLogSumExp = largest.meanRowLogSumExp;
}

namespace {

std::vector<float> prefixCopy(const float* m, int64_t rows, int64_t dim, int64_t prefix) {
  std::vector<float> out(static_cast<size_t>(rows * prefix));
  for (int64_t r = 0; r < rows; ++r) std::memcpy(out.data() + r * prefix, m + r * dim, sizeof(float) * prefix);
  return out;
}

}  // namespace

void matryoshkaBySeparateCalls(const LossProblem& p, LossResult& result,
                               void (*kernel)(const LossProblem&, LossResult&)) {
  std::memset(result.gradX, 0, sizeof(float) * p.rows * p.dim);
  std::memset(result.gradY, 0, sizeof(float) * p.cols * p.dim);
  std::vector<LossResult> perPrefix(p.prefixCount);
  result.gradLogScale = 0;
  for (int k = 0; k < p.prefixCount; ++k) {
    const int64_t d = p.prefixDims[k];
    const std::vector<float> x = prefixCopy(p.x, p.rows, p.dim, d), y = prefixCopy(p.y, p.cols, p.dim, d);
    std::vector<float> gradX(x.size()), gradY(y.size());
    LossProblem prefix = p;
    prefix.x = x.data();
    prefix.y = y.data();
    prefix.dim = d;
    prefix.prefixCount = 0;
    prefix.prefixDims = nullptr;
    prefix.prefixWeights = nullptr;
    LossResult& r = perPrefix[k];
    r.gradX = gradX.data();
    r.gradY = gradY.data();
    kernel(prefix, r);
    const float w = static_cast<float>(p.prefixWeights[k]);
    for (int64_t i = 0; i < p.rows; ++i)
      for (int64_t c = 0; c < d; ++c) result.gradX[i * p.dim + c] += w * gradX[i * d + c];
    for (int64_t j = 0; j < p.cols; ++j)
      for (int64_t c = 0; c < d; ++c) result.gradY[j * p.dim + c] += w * gradY[j * d + c];
    result.gradLogScale += p.prefixWeights[k] * r.gradLogScale;
  }
  combinePrefixes(p, perPrefix, result);
}

}  // namespace infonce::cpu
