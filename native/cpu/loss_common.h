// What the fused and the naive CPU kernels share: validation and preparation of a problem (norms,
// targets, weights), the normalisation backward, and the assembly of the result from the row and
// column statistics. The kernels differ only in how they produce those statistics and gradients.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "infonce.h"

namespace infonce::cpu {

constexpr double kNormEpsilon = 1e-12;  // u = x / max(‖x‖, ε), as in the README (The loss)

struct PreparedProblem {
  int threads = 1;
  double scale = 1;          // s = exp(θ)
  double rowWeight = 0;      // w_r / M
  double columnWeight = 0;   // w_c / M (0 when not symmetric)
  std::vector<double> normX, normY;             // ‖row‖ (before the ε clamp)
  std::vector<float> inverseNormX, inverseNormY;  // 1 / max(‖row‖, ε)
  std::vector<int32_t> targets;                 // t(i), the identity when the problem has none
  std::vector<float> columnWeights;             // columnWeight where the column is some row's target, else 0
  // With positives by group (LossProblem::groupPositives): |P(i)| for each row, |Q(j)| for each target
  // column (0 for the others). Empty otherwise.
  std::vector<float> rowPositives, columnPositives;
};

// Whether (i, j) is a positive pair: j is i's target, or (with positives by group) they share a group.
inline bool positivePair(const LossProblem& p, const PreparedProblem& prepared, int64_t i, int64_t j) {
  if (prepared.targets[i] == j) return true;
  return p.groupPositives && p.rowGroups[i] >= 0 && p.rowGroups[i] == p.columnGroups[j];
}

// A positive's softmax probability minus its share of the target, exp(logit − lse) − 1/count: as
// expm1 for a single positive, where a confident p ≈ 1 would otherwise cancel to noise.
inline double probabilityMinusShare(double logit, double lse, double count) {
  return count == 1 ? std::expm1(logit - lse) : std::exp(logit - lse) - 1.0 / count;
}

// With positives by group: per row the sum and the largest of S over its positives, per target
// column the same over its positive rows (what the loss and the accuracies need besides the LSEs).
struct PositiveStatistics {
  std::vector<double> rowSum, columnSum;
  std::vector<float> rowMax, columnMax;
  PositiveStatistics(int64_t rows, int64_t cols);
  // Adds the positives among the logits of rows [row0, row0 + rows) × columns [col0, col0 + cols).
  void addTile(const LossProblem& problem, const PreparedProblem& prepared, const float* logits, int64_t ld,
               int64_t row0, int64_t rows, int64_t col0, int64_t cols);
};

// A logit that group masking takes out of both softmaxes holds this: exp(kMaskedLogit − m) is 0 for
// any real logit m, and unlike −∞ a row or column of a tile with nothing but masked entries keeps
// finite statistics (their max is kMaskedLogit, which the first real logit replaces).
constexpr float kMaskedLogit = -1e30f;

// Writes kMaskedLogit over the logits of rows [row0, row0 + rows) × columns [col0, col0 + cols)
// (`ld` floats a row) that the problem's groups mask. Nothing without groups.
void maskGroups(const LossProblem& problem, const PreparedProblem& prepared, float* logits, int64_t ld,
                int64_t row0, int64_t rows, int64_t col0, int64_t cols);

// Validates the problem (throws Error naming the argument) and computes everything the kernels need
// before the first product. Reads x and y once, in parallel; a NaN or Inf anywhere is reported here.
PreparedProblem prepareProblem(const LossProblem& problem);

// Streaming log-sum-exp state of a set of rows or columns: the running max and Σ exp(v − max).
struct LogSumExpState {
  std::vector<float> max;
  std::vector<double> sum;
  explicit LogSumExpState(int64_t n = 0);
  // Merges a partial (tileMax, tileSum relative to tileMax) into entry k.
  void merge(int64_t k, float tileMax, double tileSum);
  double logSumExp(int64_t k) const;
};

// In place: grad holds dL/du on entry (u = x / max(‖x‖, ε)) and dL/dx on return.
void normalizationBackward(float* grad, const float* x, const std::vector<double>& norm,
                           const std::vector<float>& inverseNorm, int64_t rows, int64_t dim, int threads);

// Loss, accuracies and the by-products from the statistics of pass 1. positive[i] = S_{i,t(i)}.
// With positives by group, `group` holds their statistics (and `positive` is not read).
void finishResult(const LossProblem& problem, const PreparedProblem& prepared, const LogSumExpState& rowState,
                  const LogSumExpState& columnState, const std::vector<float>& positive, LossResult& result,
                  const PositiveStatistics* group = nullptr);

}  // namespace infonce::cpu
