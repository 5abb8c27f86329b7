#include "loss_common.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "thread_pool.h"

namespace infonce {

namespace {

std::string number(int64_t v) { return std::to_string(v); }

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

}  // namespace

namespace cpu {
namespace {

// Fills norm[r] for rows [begin, end); returns the first row with a non-finite entry, or -1.
int64_t rowNorms(const float* m, int64_t begin, int64_t end, int64_t dim, double* norm) {
  for (int64_t r = begin; r < end; ++r) {
    const float* row = m + r * dim;
    double sum = 0;
    for (int64_t k = 0; k < dim; ++k) sum += static_cast<double>(row[k]) * row[k];
    if (!std::isfinite(sum)) return r;  // NaN and ±Inf propagate into the sum; finite squares never overflow a double
    norm[r] = std::sqrt(sum);
  }
  return -1;
}

[[noreturn]] void nonFinite(const char* name, const float* m, int64_t row, int64_t dim) {
  int64_t column = 0;
  while (column < dim && std::isfinite(m[row * dim + column])) ++column;
  const float v = m[row * dim + column];
  invalid(std::string(name) + ": expected finite values, got " + (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) +
          " at row " + number(row) + ", column " + number(column));
}

}  // namespace

PreparedProblem prepareProblem(const LossProblem& p) {
  if (!p.x || !p.y) throw Error(ErrorCode::Internal, "the CPU kernels need x and y in host memory");
  PreparedProblem prepared;
  prepared.threads = p.threads > 0 ? p.threads : defaultThreadCount();
  prepared.scale = std::exp(p.logScale);
  // The 1/M of the loss: the whole batch's M for a shard of one.
  const double M = static_cast<double>(p.globalRows > 0 ? p.globalRows : p.rows);
  prepared.rowWeight = (p.symmetric ? 0.5 : 1.0) / M;
  prepared.columnWeight = p.symmetric ? 0.5 / M : 0.0;
  prepared.normX.resize(p.rows);
  prepared.normY.resize(p.cols);

  std::vector<int64_t> badX(prepared.threads, -1), badY(prepared.threads, -1);
  parallelRun(prepared.threads, [&](const ParallelContext& ctx) {
    const auto rows = ctx.share(p.rows), cols = ctx.share(p.cols);
    badX[ctx.thread()] = rowNorms(p.x, rows.begin, rows.end, p.dim, prepared.normX.data());
    badY[ctx.thread()] = rowNorms(p.y, cols.begin, cols.end, p.dim, prepared.normY.data());
  });
  for (int64_t r : badX)
    if (r >= 0) nonFinite("x", p.x, r, p.dim);
  for (int64_t r : badY)
    if (r >= 0) nonFinite("y", p.y, r, p.dim);

  auto inverse = [](const std::vector<double>& norm) {
    std::vector<float> inv(norm.size());
    for (size_t r = 0; r < norm.size(); ++r) inv[r] = static_cast<float>(1.0 / std::max(norm[r], kNormEpsilon));
    return inv;
  };
  prepared.inverseNormX = inverse(prepared.normX);
  prepared.inverseNormY = inverse(prepared.normY);

  prepared.targets.resize(p.rows);
  for (int64_t i = 0; i < p.rows; ++i) prepared.targets[i] = p.targets ? p.targets[i] : static_cast<int32_t>(i);
  prepared.columnWeights.assign(p.cols, 0.0f);
  if (p.targetColumns) {  // a shard: every rank's targets, not only this one's
    for (int64_t j = 0; j < p.cols; ++j)
      if (p.targetColumns[j]) prepared.columnWeights[j] = static_cast<float>(prepared.columnWeight);
  } else {
    for (int32_t t : prepared.targets) prepared.columnWeights[t] = static_cast<float>(prepared.columnWeight);
  }
  if (p.groupPositives) {
    // |P(i)| = the columns of i's group, plus its target if that is in another group; |Q(j)| alike.
    std::unordered_map<int32_t, int64_t> columnsOf, rowsOf;
    for (int64_t j = 0; j < p.cols; ++j)
      if (p.columnGroups[j] >= 0) ++columnsOf[p.columnGroups[j]];
    for (int64_t i = 0; i < p.rows; ++i)
      if (p.rowGroups[i] >= 0) ++rowsOf[p.rowGroups[i]];
    prepared.rowPositives.assign(p.rows, 0.0f);
    prepared.columnPositives.assign(p.cols, 0.0f);
    for (int64_t i = 0; i < p.rows; ++i) {
      const int32_t g = p.rowGroups[i], t = prepared.targets[i], h = p.columnGroups[t];
      const bool targetInGroup = g >= 0 && h == g;
      prepared.rowPositives[i] = static_cast<float>((g >= 0 ? columnsOf[g] : 0) + (targetInGroup ? 0 : 1));
      prepared.columnPositives[t] = static_cast<float>((h >= 0 ? rowsOf[h] : 0) + (targetInGroup ? 0 : 1));
    }
    // A shard: |Q(j)| counts every rank's rows, and other ranks' target columns need theirs too.
    if (p.columnPositiveCounts) prepared.columnPositives.assign(p.columnPositiveCounts, p.columnPositiveCounts + p.cols);
  }
  return prepared;
}

PositiveStatistics::PositiveStatistics(int64_t rows, int64_t cols)
    : rowSum(rows, 0.0),
      columnSum(cols, 0.0),
      rowMax(rows, -std::numeric_limits<float>::infinity()),
      columnMax(cols, -std::numeric_limits<float>::infinity()) {}

void PositiveStatistics::addTile(const LossProblem& p, const PreparedProblem& prepared, const float* logits,
                                 int64_t ld, int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = row0 + r;
    const int32_t group = p.rowGroups[i];
    const int64_t target = prepared.targets[i];
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t j = col0 + c;
      if (j != target && (group < 0 || p.columnGroups[j] != group)) continue;
      const float v = logits[r * ld + c];
      rowSum[i] += v;
      rowMax[i] = std::max(rowMax[i], v);
      if (prepared.columnPositives[j] > 0) {
        columnSum[j] += v;
        columnMax[j] = std::max(columnMax[j], v);
      }
    }
  }
}

void maskGroups(const LossProblem& p, const PreparedProblem& prepared, float* logits, int64_t ld, int64_t row0,
                int64_t rows, int64_t col0, int64_t cols) {
  if (!p.rowGroups || p.groupPositives) return;  // groups of positives stay in the softmax
  const int32_t* columnGroups = p.columnGroups + col0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t group = p.rowGroups[row0 + r];
    if (group < 0) continue;
    const int64_t target = prepared.targets[row0 + r] - col0;  // may lie outside this tile
    float* row = logits + r * ld;
    for (int64_t c = 0; c < cols; ++c)
      if (columnGroups[c] == group && c != target) row[c] = kMaskedLogit;
  }
}

LogSumExpState::LogSumExpState(int64_t n) : max(n, -std::numeric_limits<float>::infinity()), sum(n, 0.0) {}

void LogSumExpState::merge(int64_t k, float tileMax, double tileSum) {
  const float current = max[k];
  if (tileMax <= current) {
    sum[k] += tileSum * std::exp(static_cast<double>(tileMax) - current);
  } else {
    sum[k] = sum[k] * std::exp(static_cast<double>(current) - tileMax) + tileSum;
    max[k] = tileMax;
  }
}

double LogSumExpState::logSumExp(int64_t k) const { return max[k] + std::log(sum[k]); }

void normalizationBackward(float* grad, const float* x, const std::vector<double>& norm,
                           const std::vector<float>& inverseNorm, int64_t rows, int64_t dim, int threads) {
  parallelRun(threads, [&](const ParallelContext& ctx) {
    const auto mine = ctx.share(rows);
    for (int64_t r = mine.begin; r < mine.end; ++r) {
      float* g = grad + r * dim;
      const float* row = x + r * dim;
      const double inv = 1.0 / std::max(norm[r], kNormEpsilon);
      if (norm[r] > kNormEpsilon) {
        // dL/dx = (g − u⟨u, g⟩) / ‖x‖: the component of g along u does not change the direction.
        double along = 0;
        for (int64_t k = 0; k < dim; ++k) along += static_cast<double>(row[k]) * g[k];
        // In double: when g is nearly parallel to u (D = 1, or a converged row) the difference
        // cancels almost everything, and fp32 would leave only rounding noise.
        const double radial = along * inv * inv;  // ⟨u, g⟩ / ‖x‖, with u = x / ‖x‖
        for (int64_t k = 0; k < dim; ++k) g[k] = static_cast<float>((g[k] - row[k] * radial) * inv);
      } else {
        // Below ε the normalisation is x / ε, a fixed scaling.
        const float gScale = inverseNorm[r];
        for (int64_t k = 0; k < dim; ++k) g[k] *= gScale;
      }
    }
  });
}

void finishResult(const LossProblem& p, const PreparedProblem& prepared, const LogSumExpState& rowState,
                  const LogSumExpState& columnState, const std::vector<float>& positive, LossResult& result,
                  const PositiveStatistics* group) {
  double rowLoss = 0, columnLoss = 0, positiveSum = 0, rowLseSum = 0;
  int64_t rowHits = 0, columnHits = 0;
  for (int64_t i = 0; i < p.rows; ++i) {
    const int32_t t = prepared.targets[i];
    const double rowLse = rowState.logSumExp(i);
    rowLseSum += rowLse;
    if (group) {  // the mean of the positives' logits; a hit when the largest is a positive
      const double rowPositive = group->rowSum[i] / prepared.rowPositives[i];
      rowLoss += rowLse - rowPositive;
      positiveSum += rowPositive;
      rowHits += group->rowMax[i] >= rowState.max[i];
      columnHits += group->columnMax[t] >= columnState.max[t];
      if (p.symmetric) columnLoss += columnState.logSumExp(t) - group->columnSum[t] / prepared.columnPositives[t];
      continue;
    }
    rowLoss += rowLse - positive[i];
    positiveSum += positive[i];
    rowHits += positive[i] >= rowState.max[i];
    columnHits += positive[i] >= columnState.max[t];
    if (p.symmetric) columnLoss += columnState.logSumExp(t) - positive[i];
  }
  const double m = static_cast<double>(p.globalRows > 0 ? p.globalRows : p.rows);  // a shard's share of the batch's
  result.loss = p.symmetric ? 0.5 * (rowLoss + columnLoss) / m : rowLoss / m;
  result.accuracyRow = rowHits / m;
  result.accuracyCol = columnHits / m;
  result.meanPositiveLogit = positiveSum / m;
  result.meanRowLogSumExp = rowLseSum / m;
}

}  // namespace cpu
}  // namespace infonce
