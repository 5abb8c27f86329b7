// Host emulation of the GPU loss with the panel gradient pass (see panel_emulation.h). Mirrors, step
// by step, what loss_orchestration.cu and panel_gradients.cu do on the device:
//   normalise and round the rows to 16 bits → row and column statistics (the logits the groups mask
//   set to kMaskedLogit, as statistics_pass.cu does) → for each panel of the plan:
//   G = gradientTerm(...)·storageScale rounded to 16 bits, dθ partials per (row tile, column tile);
//   dU per split of N, the splits summed in order; dV accumulated panel after panel → the
//   normalisation backward.
// The products accumulate in double here (the tensor cores use fp32): the emulation checks the
// schedule, the epilogue and the 16-bit storage of G, not the accumulation order of an mma.
#include "schedule/panel_emulation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradient_epilogue.h"
#include "schedule/panel_plan.h"
#include "emulation/statistics_emulation.h"

namespace infonce::cuda {
namespace {

constexpr double kEpsilon = 1e-12;

// Round to nearest even, keeping `mantissaBits` bits after the leading one, with the smallest
// exponent `minExponent` (below it the spacing stays fixed: subnormals).
float roundToMantissa(float value, int mantissaBits, int minExponent) {
  if (!std::isfinite(value) || value == 0.0f) return value;
  int exponent = 0;
  std::frexp(std::fabs(value), &exponent);  // |value| = f·2^exponent, f in [0.5, 1)
  const int spacing = std::max(exponent - 1, minExponent) - mantissaBits;
  const double quantum = std::ldexp(1.0, spacing);
  return float(std::nearbyint(double(value) / quantum) * quantum);  // ties to even (default rounding mode)
}

}  // namespace

float roundToBFloat16(float value) { return roundToMantissa(value, 7, -126); }

float roundToFloat16(float value) {
  if (std::fabs(value) >= 65520.0f) return std::copysign(INFINITY, value);  // rounds past 65504
  return roundToMantissa(value, 10, -14);
}

EpilogueCounts emulatePanelLoss(const LossProblem& p, const PanelEmulation& e, LossResult& result) {
  validateProblem(p);
  const int64_t M = p.rows, N = p.cols, D = p.dim;
  if (e.memoryBudget < minimumPanelBudget(N))
    throw Error(ErrorCode::InvalidArgument, "memoryBudget: the GPU panel schedule needs at least " +
                                                std::to_string(minimumPanelBudget(N)) + " bytes, got " +
                                                std::to_string(e.memoryBudget));
  const PanelPlan plan = planPanels(M, N, D, e.memoryBudget);
  const int64_t ld = plan.paddedDim;
  auto round16 = [&](float v) { return e.storage == EmulatedStorage::Float16 ? roundToFloat16(v) : roundToBFloat16(v); };
  const float storageScale = e.storageScale > 0 ? e.storageScale : kGradientStorageScale;

  // Normalised rows, rounded to the 16-bit operand type, zero-padded (row_kernels.cu: normalizeRows).
  std::vector<double> normX(M), normY(N);
  auto normalise = [&](const float* in, int64_t rows, int64_t paddedRows, std::vector<double>& norm) {
    std::vector<float> out(paddedRows * ld, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t d = 0; d < D; ++d) sum += double(in[r * D + d]) * in[r * D + d];
      norm[r] = std::sqrt(sum);
      const double inverse = 1.0 / std::max(norm[r], kEpsilon);
      for (int64_t d = 0; d < D; ++d) out[r * ld + d] = round16(float(in[r * D + d] * inverse));
    }
    return out;
  };
  const std::vector<float> u = normalise(p.x, M, plan.paddedRows, normX);
  const std::vector<float> v = normalise(p.y, N, plan.paddedCols, normY);
  const float scale = float(std::exp(p.logScale));
  auto logit = [&](int64_t i, int64_t j) {
    double dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += double(u[i * ld + d]) * v[j * ld + d];
    return float(dot) * scale;
  };
  std::vector<int32_t> targets(M);
  for (int64_t i = 0; i < M; ++i) targets[i] = p.targets ? p.targets[i] : int32_t(i);

  // Pass 1: the merged statistics of every row and column, tile by tile (statistics_emulation.cpp).
  auto masked = [&](int64_t i, int64_t j) {
    return p.rowGroups && maskedByGroups(p.rowGroups[i], p.columnGroups[j], j, targets[i]);
  };
  std::vector<float> S(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) S[i * N + j] = masked(i, j) ? kMaskedLogit : logit(i, j);
  if (kPanelTile % e.statisticsPart.rows != 0 || kPanelTile % e.statisticsPart.cols != 0 || e.statisticsPart.rows < 1 || e.statisticsPart.cols < 1)
    throw Error(ErrorCode::InvalidArgument, "statisticsPart: expected divisors of the 128-wide tile");
  const EmulatedStatistics statistics = emulateStatistics(S, M, N, e.statisticsPart, e.oneExponential);
  const MergedStatistics &rows = statistics.rows, &cols = statistics.cols;
  EpilogueCounts counts;
  counts.statisticsOneExponential = statistics.oneExponentialParts;
  counts.statisticsTwoExponentials = statistics.twoExponentialParts;
  const double rowWeight = (p.symmetric ? 0.5 : 1.0) / double(M);
  std::vector<float> columnWeight(N, 0.0f);
  if (p.symmetric)
    for (int64_t i = 0; i < M; ++i) columnWeight[targets[i]] = float(0.5 / double(M));

  double rowTerm = 0, colTerm = 0, rowHits = 0, colHits = 0, positives = 0, rowLse = 0;
  for (int64_t i = 0; i < M; ++i) {
    const int32_t t = targets[i];
    const float positive = S[i * N + t];
    rowTerm += rows.logSumExp[i] - positive;
    colTerm += cols.logSumExp[t] - positive;
    rowHits += positive >= rows.max[i] ? 1 : 0;
    colHits += positive >= cols.max[t] ? 1 : 0;
    positives += positive;
    rowLse += rows.logSumExp[i];
  }

  // Pass 2, panel by panel, block by block, as panel_gradients.cu schedules it (the same grids and
  // output offsets). Padding rows of G, its columns past N and components past D are zero on the
  // GPU; the loops here skip them (the buffers start at zero) only to keep the tests fast.
  std::vector<float> gradU(plan.paddedRows * ld, 0.0f), gradV(plan.paddedCols * ld, 0.0f);
  std::vector<float> workspace(plan.splits > 1 ? plan.splits * plan.panelRows * ld : 0, 0.0f);
  std::vector<double> partials(plan.logScalePartials(), 0.0);
  std::vector<float> G(plan.panelRows * plan.paddedCols, 0.0f);
  const float productScale = gradientProductScale(float(scale), float(rowWeight), storageScale);
  constexpr int64_t T = kPanelTile;
  for (int64_t panel = 0; panel < plan.panels; ++panel) {
    const int64_t begin = plan.panelBegin(panel), realHeight = std::min(plan.panelHeight(panel), M - begin);
    const PanelGrids grids = panelGrids(plan, panel);
    // (B) G of the panel and the dθ partial of each block, with one exponential per logit where the
    // block's LSEs allow it (gradient_epilogue.h: rowTermFactor, columnTermFactor).
    for (int64_t y = 0; y < grids.terms[1]; ++y)
      for (int64_t x = 0; x < grids.terms[0]; ++x) {
        float* out = G.data() + plan.termsOffset(x, y);
        float reference = -INFINITY, lowest = INFINITY;
        for (int64_t r = 0; r < T && begin + y * T + r < M; ++r) reference = std::max(reference, float(rows.logSumExp[begin + y * T + r]));
        for (int64_t c = 0; c < T && x * T + c < N; ++c)
          if (columnWeight[x * T + c] != 0.0f) lowest = std::min(lowest, float(cols.logSumExp[x * T + c]));
        const bool one = e.oneExponential && oneExponentialFits(reference, lowest);
        ++(one ? counts.termsOneExponential : counts.termsTwoExponentials);
        float columnFactor[T];
        for (int64_t c = 0; c < T; ++c) {
          const int64_t j = x * T + c;
          columnFactor[c] = j < N ? columnTermFactor(cols.logSumExp[j], columnWeight[j], float(rowWeight), reference) : 0.0f;
        }
        double blockSum = 0;
        for (int64_t r = 0; r < T; ++r) {
          const int64_t i = begin + y * T + r;
          RowStatistics row;
          if (i < M) row = {rows.max[i], rows.logSum[i], rows.logSumExp[i], targets[i]};
          const float rowFactor = i < M ? rowTermFactor(rows.logSumExp[i], reference) : 0.0f;
          for (int64_t c = 0; c < T; ++c) {
            const int64_t j = x * T + c;
            ColumnStatistics col;
            if (j < N) col = {cols.max[j], cols.logSum[j], cols.logSumExp[j], columnWeight[j], true};
            const float s = i < M && j < N ? S[i * N + j] : 0.0f;
            float term = 0.0f;
            if (i < M && j < N && masked(i, j)) term = 0.0f;
            else if (one && j != row.target) term = negativeTermOneExp(s, row, j < N, rowFactor, columnFactor[c]);
            else term = gradientTerm(s, j, row, col, float(rowWeight));
            blockSum += double(term) * s;
            out[r * plan.paddedCols + c] = round16(term * storageScale);
          }
        }
        partials[plan.logScalePartialOffset(panel) + y * plan.colTiles() + x] = blockSum * float(rowWeight);
      }
    // (C) dU of the panel, each split of N into its own slice (or straight into dU), then the
    // slices summed in split order.
    float* rowOut = plan.splits > 1 ? workspace.data() : gradU.data();
    for (int64_t z = 0; z < grids.rowGradient[2]; ++z)
      for (int64_t y = 0; y < grids.rowGradient[1]; ++y)
        for (int64_t x = 0; x < grids.rowGradient[0]; ++x) {
          float* out = rowOut + plan.rowGradientOffset(panel, x, y, z);
          for (int64_t r = 0; r < T && y * T + r < realHeight; ++r)
            for (int64_t c = 0; c < T && x * T + c < D; ++c) {
              double dot = 0;
              for (int64_t j = plan.splitBegin(z); j < std::min(plan.splitBegin(z + 1), N); ++j)
                dot += double(G[(y * T + r) * plan.paddedCols + j]) * v[j * ld + x * T + c];
              out[r * ld + c] = float(dot) * productScale;
            }
        }
    if (plan.splits > 1)
      for (int64_t r = 0; r < realHeight; ++r)
        for (int64_t d = 0; d < D; ++d) {
          float total = workspace[r * ld + d];
          for (int64_t z = 1; z < plan.splits; ++z) total += workspace[(z * plan.panelRows + r) * ld + d];
          gradU[(begin + r) * ld + d] = total;
        }
    // (D) dV += Gᵀ·U of the panel.
    for (int64_t y = 0; y < grids.columnGradient[1]; ++y)
      for (int64_t x = 0; x < grids.columnGradient[0]; ++x) {
        float* out = gradV.data() + plan.columnGradientOffset(x, y);
        for (int64_t r = 0; r < T && y * T + r < N; ++r)
          for (int64_t c = 0; c < T && x * T + c < D; ++c) {
            double dot = 0;
            for (int64_t i = 0; i < realHeight; ++i)
              dot += double(G[i * plan.paddedCols + y * T + r]) * u[(begin + i) * ld + x * T + c];
            out[r * ld + c] = (panel > 0 ? out[r * ld + c] : 0.0f) + float(dot) * productScale;
          }
      }
  }
  double logScaleGradient = 0;
  for (double partial : partials) logScaleGradient += partial;

  // The normalisation backward (row_kernels.cu: normalizationBackward), from the fp32 inputs.
  auto backward = [&](const float* in, const std::vector<double>& norm, const std::vector<float>& grad, int64_t rowCount,
                      float* out) {
    for (int64_t r = 0; r < rowCount; ++r) {
      const double n = std::max(norm[r], kEpsilon);
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += double(in[r * D + d]) / n * grad[r * ld + d];
      for (int64_t d = 0; d < D; ++d) {
        const double unit = norm[r] > kEpsilon ? double(in[r * D + d]) / n : 0.0;
        out[r * D + d] = float((grad[r * ld + d] - unit * dot) / n);
      }
    }
  };
  backward(p.x, normX, gradU, M, result.gradX);
  backward(p.y, normY, gradV, N, result.gradY);

  const double m = double(M);
  result.loss = p.symmetric ? 0.5 * (rowTerm + colTerm) / m : rowTerm / m;
  result.accuracyRow = rowHits / m;
  result.accuracyCol = colHits / m;
  result.meanPositiveLogit = positives / m;
  result.meanRowLogSumExp = rowLse / m;
  result.gradLogScale = logScaleGradient;
  return counts;
}

}  // namespace infonce::cuda
