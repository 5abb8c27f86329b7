// The naive contrastive loss: the formula of the README (The loss) computed the obvious way, materialising the
// M×N logits (and reusing them for G). FLOPs 6·M·N·D plus ~4 exp per logit; bytes 4·M·N for S on top
// of the inputs. Plain C++ loops (the compiler vectorises the inner ones), threads over rows or
// columns. It exists as the baseline of the benchmarks and a second opinion in the tests.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "infonce.h"
#include "loss_common.h"
#include "matryoshka.h"
#include "thread_pool.h"

namespace infonce {

namespace {


std::vector<float> normalizedRows(const float* m, const std::vector<float>& inverseNorm, int64_t rows, int64_t dim) {
  std::vector<float> u(static_cast<size_t>(rows * dim));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < dim; ++k) u[r * dim + k] = m[r * dim + k] * inverseNorm[r];
  return u;
}

// Linux overcommits: a 17 GB vector "succeeds" and the process is killed when it touches the pages.
// So ask the kernel what is available before allocating the logits.
void requireAvailableMemory(int64_t M, int64_t N) {
  const double bytes = 4.0 * static_cast<double>(M) * static_cast<double>(N);
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      if (bytes > kib * 1024.0 * 0.9)
        throw Error(ErrorCode::OutOfMemory,
                    "the naive kernel needs the whole " + std::to_string(M) + "×" + std::to_string(N) +
                        " logit matrix (" + std::to_string(static_cast<int64_t>(bytes / 1048576)) + " MiB) but only " +
                        std::to_string(static_cast<int64_t>(kib / 1024)) + " MiB are available; use the fused kernel");
      return;
    }
  }
}

}  // namespace

void contrastiveLossCpuNaive(const LossProblem& p, LossResult& result) {
  // Matryoshka the naive way: one whole loss per prefix (the baseline of bench/matryoshka.ts).
  if (p.prefixCount > 0) return cpu::matryoshkaBySeparateCalls(p, result, &contrastiveLossCpuNaive);
  const cpu::PreparedProblem prep = cpu::prepareProblem(p);
  const int64_t M = p.rows, N = p.cols, D = p.dim;
  requireAvailableMemory(M, N);
  std::vector<float> logits;
  try {
    logits.resize(static_cast<size_t>(M) * static_cast<size_t>(N));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory, "the naive kernel needs the whole " + std::to_string(M) + "×" +
                                            std::to_string(N) + " logit matrix (" + std::to_string(M * N * 4) +
                                            " bytes), which could not be allocated; use the fused kernel");
  }
  const std::vector<float> u = normalizedRows(p.x, prep.inverseNormX, M, D);
  const std::vector<float> v = normalizedRows(p.y, prep.inverseNormY, N, D);
  std::vector<float> vTransposed(static_cast<size_t>(D * N));
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < D; ++k) vTransposed[k * N + j] = v[j * D + k];
  const float scale = static_cast<float>(prep.scale);

  // S = s·U·Vᵀ, one row at a time.
  cpu::parallelRun(prep.threads, [&](const cpu::ParallelContext& ctx) {
    const auto rows = ctx.share(M);
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      float* s = logits.data() + i * N;
      std::memset(s, 0, sizeof(float) * N);
      for (int64_t k = 0; k < D; ++k) {
        const float a = scale * u[i * D + k];
        const float* b = vTransposed.data() + k * N;
        for (int64_t j = 0; j < N; ++j) s[j] += a * b[j];
      }
      cpu::maskGroups(p, prep, s, N, i, 1, 0, N);
    }
  });

  // Row and column log-sum-exp, each with its own max.
  cpu::LogSumExpState rowState(M), columnState(N);
  std::vector<float> positive(M);
  cpu::parallelRun(prep.threads, [&](const cpu::ParallelContext& ctx) {
    const auto rows = ctx.share(M);
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      const float* s = logits.data() + i * N;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < N; ++j) m = std::max(m, s[j]);
      double sum = 0;
      for (int64_t j = 0; j < N; ++j) sum += std::exp(static_cast<double>(s[j]) - m);
      rowState.merge(i, m, sum);
      positive[i] = s[prep.targets[i]];
    }
    const auto columns = ctx.share(N);
    std::vector<double> sum(columns.end - columns.begin, 0.0);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = columns.begin; j < columns.end; ++j)
        columnState.max[j] = std::max(columnState.max[j], logits[i * N + j]);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = columns.begin; j < columns.end; ++j)
        sum[j - columns.begin] += std::exp(static_cast<double>(logits[i * N + j]) - columnState.max[j]);
    for (int64_t j = columns.begin; j < columns.end; ++j) columnState.sum[j] = sum[j - columns.begin];
  });
  std::unique_ptr<cpu::PositiveStatistics> group;
  if (p.groupPositives) {
    group = std::make_unique<cpu::PositiveStatistics>(M, N);
    group->addTile(p, prep, logits.data(), N, 0, M, 0, N);
  }
  cpu::finishResult(p, prep, rowState, columnState, positive, result, group.get());

  // G in place of S; dθ = Σ G·S.
  std::vector<double> rowLse(M), columnLse(N);
  for (int64_t i = 0; i < M; ++i) rowLse[i] = rowState.logSumExp(i);
  for (int64_t j = 0; j < N; ++j) columnLse[j] = columnState.logSumExp(j);
  std::vector<double> logScaleGradient(prep.threads, 0.0);
  cpu::parallelRun(prep.threads, [&](const cpu::ParallelContext& ctx) {
    const auto rows = ctx.share(M);
    double total = 0;
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      float* s = logits.data() + i * N;
      for (int64_t j = 0; j < N; ++j) {
        double g;
        if (p.groupPositives && cpu::positivePair(p, prep, i, j)) {  // G = P − 1/|P(i)| (and Q − 1/|Q(j)|)
          g = prep.rowWeight * cpu::probabilityMinusShare(s[j], rowLse[i], prep.rowPositives[i]);
          if (p.symmetric && prep.columnPositives[j] > 0)
            g += prep.columnWeight * cpu::probabilityMinusShare(s[j], columnLse[j], prep.columnPositives[j]);
        } else if (j == prep.targets[i]) {  // P − 1 as expm1: a confident P ≈ 1 would cancel to noise
          g = prep.rowWeight * std::expm1(s[j] - rowLse[i]);
          if (p.symmetric) g += prep.columnWeight * std::expm1(s[j] - columnLse[j]);
        } else {
          g = prep.rowWeight * std::exp(s[j] - rowLse[i]);
          if (p.symmetric) g += prep.columnWeights[j] * std::exp(s[j] - columnLse[j]);
        }
        total += g * s[j];
        s[j] = static_cast<float>(g);
      }
    }
    logScaleGradient[ctx.thread()] = total;
  });
  result.gradLogScale = 0;
  for (double t : logScaleGradient) result.gradLogScale += t;

  // dU = s·G·V by rows of U, dV = s·Gᵀ·U by rows of V.
  std::memset(result.gradX, 0, sizeof(float) * M * D);
  std::memset(result.gradY, 0, sizeof(float) * N * D);
  cpu::parallelRun(prep.threads, [&](const cpu::ParallelContext& ctx) {
    const auto rows = ctx.share(M);
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      float* out = result.gradX + i * D;
      for (int64_t j = 0; j < N; ++j) {
        const float g = scale * logits[i * N + j];
        for (int64_t k = 0; k < D; ++k) out[k] += g * v[j * D + k];
      }
    }
    const auto columns = ctx.share(N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = columns.begin; j < columns.end; ++j) {
        const float g = scale * logits[i * N + j];
        float* out = result.gradY + j * D;
        for (int64_t k = 0; k < D; ++k) out[k] += g * u[i * D + k];
      }
  });
  cpu::normalizationBackward(result.gradX, p.x, prep.normX, prep.inverseNormX, M, D, prep.threads);
  cpu::normalizationBackward(result.gradY, p.y, prep.normY, prep.inverseNormY, N, D, prep.threads);
}

}  // namespace infonce
