// The statistics pass on the host, mirroring the device's epilogue step by step for each 128 × 128
// tile (statistics_pass.cu, statistics_pass_sm90.cu, statistics_pass_sm100.cu):
//   each row's and each column's tile max; then, for each warp part of the tile (the rows and columns
//   one warp reduces), K = the largest tile max of its rows and the lowest max of its columns over
//   its rows; if oneExponentialFits(K, lowest): e = exp(S − row max) once per logit (ties to the max
//   counted as exactly 1), row sums of e, column sums of e·exp(row max − K) relative to K but the
//   column's ties to its max over the part counted exactly; else the two exponentials, each line
//   relative to its own tile max. Row partials are summed over the parts in double, column partials
//   (ties and sums) restated at the column's tile max (partialAtMax) and summed likewise,
//   then merged into the running (max, Σ) with mergeLogSumExp, tile after tile.
// The sums inside a part run in index order here and in shuffle order on the device: the emulation
// checks the arithmetic and the choice, not the order of fp32 additions.
#include "emulation/statistics_emulation.h"

#include <algorithm>
#include <cmath>

#include "epilogue_math.h"
#include "schedule/panel_plan.h"  // kPanelTile

namespace infonce::cuda {
namespace {

struct PartSums {  // one line's partial over one warp part: Σ exp(S − shift) and the count of S = max
  float sum = 0, ties = 0, shift = -INFINITY, max = -INFINITY;
};

// The parts' partials of one line into its running state with the kernels' merge (epilogue_math.h).
void mergeLine(const PartSums* partials, int parts, bool shifted, float& runningMax, double& runningSum) {
  std::vector<float> max(parts), ties(parts), sum(parts), shift(parts);
  for (int p = 0; p < parts; ++p) {
    max[p] = partials[p].max;
    ties[p] = partials[p].ties;
    sum[p] = partials[p].sum;
    shift[p] = partials[p].shift;
  }
  mergeTilePartials(parts, 1, max.data(), ties.data(), sum.data(), shifted ? shift.data() : nullptr, runningMax, runningSum);
}

}  // namespace

EmulatedStatistics emulateStatistics(const std::vector<float>& S, int64_t M, int64_t N, const WarpPart& part,
                                     bool allowOneExponential) {
  constexpr int64_t T = kPanelTile;
  EmulatedStatistics out;
  std::vector<float> rowMax(M, -INFINITY), colMax(N, -INFINITY);
  std::vector<double> rowSum(M, 0.0), colSum(N, 0.0);
  const int64_t rowParts = T / part.rows, colParts = T / part.cols;
  std::vector<float> tileRowMax(T), tileColMax(T);
  std::vector<PartSums> rowPartials(T * colParts), colPartials(T * rowParts);
  std::vector<float> exponentials(T * T);

  for (int64_t row0 = 0; row0 < M; row0 += T)
    for (int64_t col0 = 0; col0 < N; col0 += T) {
      const int64_t rows = std::min(T, M - row0), cols = std::min(T, N - col0);
      auto logit = [&](int64_t r, int64_t c) { return S[(row0 + r) * N + col0 + c]; };
      for (int64_t r = 0; r < rows; ++r) {
        tileRowMax[r] = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) tileRowMax[r] = std::max(tileRowMax[r], logit(r, c));
      }
      for (int64_t c = 0; c < cols; ++c) {
        tileColMax[c] = -INFINITY;
        for (int64_t r = 0; r < rows; ++r) tileColMax[c] = std::max(tileColMax[c], logit(r, c));
      }
      for (int64_t pr = 0; pr < rowParts; ++pr)
        for (int64_t pc = 0; pc < colParts; ++pc) {
          const int64_t rBegin = pr * part.rows, rEnd = std::min(rBegin + part.rows, rows);
          const int64_t cBegin = pc * part.cols, cEnd = std::min(cBegin + part.cols, cols);
          float reference = -INFINITY, lowest = INFINITY;
          for (int64_t r = rBegin; r < rEnd; ++r) reference = std::max(reference, tileRowMax[r]);
          for (int64_t c = cBegin; c < cEnd; ++c) {
            float partMax = -INFINITY;
            for (int64_t r = rBegin; r < rEnd; ++r) partMax = std::max(partMax, logit(r, c));
            colPartials[c * rowParts + pr].max = partMax;
            lowest = std::min(lowest, partMax);
          }
          const bool one = allowOneExponential && oneExponentialFits(reference, lowest);
          if (rEnd > rBegin && cEnd > cBegin) ++(one ? out.oneExponentialParts : out.twoExponentialParts);  // parts with work
          for (int64_t r = rBegin; r < rEnd; ++r) {
            PartSums& p = rowPartials[r * colParts + pc];
            p = {0, 0, tileRowMax[r], -INFINITY};
            for (int64_t c = cBegin; c < cEnd; ++c) p.max = std::max(p.max, logit(r, c));
            for (int64_t c = cBegin; c < cEnd; ++c) {
              const float s = logit(r, c);
              const float e = s < tileRowMax[r] ? fastExp(s - tileRowMax[r]) : 1.0f;
              if (s < tileRowMax[r]) p.sum += e;
              else p.ties += 1.0f;
              exponentials[r * T + c] = e;
            }
          }
          for (int64_t c = cBegin; c < cEnd; ++c) {
            PartSums& p = colPartials[c * rowParts + pr];
            if (one) {  // the ties to the part's max stay exact: a confident model's loss is all in them
              p = {0, 0, reference, p.max};
              for (int64_t r = rBegin; r < rEnd; ++r) {
                if (logit(r, c) < p.max) p.sum += exponentials[r * T + c] * expf(tileRowMax[r] - reference);
                else p.ties += 1.0f;
              }
            } else {
              p = {0, 0, tileColMax[c], p.max};
              for (int64_t r = rBegin; r < rEnd; ++r) {
                const float s = logit(r, c);
                if (s < tileColMax[c]) p.sum += fastExp(s - tileColMax[c]);
                else p.ties += 1.0f;
              }
            }
          }
        }
      for (int64_t r = 0; r < rows; ++r)
        mergeLine(&rowPartials[r * colParts], int(colParts), false, rowMax[row0 + r], rowSum[row0 + r]);
      for (int64_t c = 0; c < cols; ++c)
        mergeLine(&colPartials[c * rowParts], int(rowParts), true, colMax[col0 + c], colSum[col0 + c]);
    }

  auto merged = [](const std::vector<float>& max, const std::vector<double>& sum) {
    MergedStatistics m{max, std::vector<float>(max.size()), std::vector<double>(max.size())};
    for (size_t k = 0; k < max.size(); ++k) {
      m.logSum[k] = float(std::log(sum[k]));
      m.logSumExp[k] = double(max[k]) + std::log(sum[k]);
    }
    return m;
  };
  out.rows = merged(rowMax, rowSum);
  out.cols = merged(colMax, colSum);
  return out;
}

}  // namespace infonce::cuda
