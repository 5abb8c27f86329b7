// The fused contrastive loss on the CPU: never holds more than a tile of the M×N logits.
//
// FLOPs for M queries, N documents, depth D: pass 1 computes every tile of S once (2·M·N·D) and both
// log-sum-exps from it; pass 2 recomputes each tile once (2·M·N·D) and from it accumulates dU += G·V
// and dV += Gᵀ·U (4·M·N·D): 8·M·N·D in all, plus ~4 exp per logit. Bytes: x, y, gradX, gradY
// (4·(M+N)·D floats), O(M+N) statistics, and per thread a few packed panels of (tile × D) floats.
//
// Schedule: the rows are cut into T chunks (one per thread) and the columns into T chunks; in step
// k thread t works on (row chunk t, column chunk (t+k) mod T), then all threads meet at a barrier.
// So in every step each row and each column has exactly one owner: the row statistics and dX rows
// belong to one thread, the column statistics and dY rows to the thread of that step. No atomics,
// no per-thread copies of dY to merge, and the order of every sum is fixed by T alone, which makes
// the result bit-identical from run to run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "aligned_buffer.h"
#include "infonce.h"
#include "loss_common.h"
#include "thread_pool.h"
#include "tile_kernels.h"

namespace infonce {
namespace cpu {
namespace {

int64_t roundUp(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

struct Range {
  int64_t begin, end;
};

// Part `part` of `parts` of [0, n), in whole tiles.
Range chunk(int64_t n, int part, int parts) { return {n * part / parts, n * (part + 1) / parts}; }

// Tile sizes: 96 is a multiple of every micro-tile's rows and columns (12×32, 6×16, 4×8); at D = 768
// a thread's panels then total ~1.5 MB, which keeps the micro-kernel's streams in L2.
constexpr int64_t kRowTile = 96;
constexpr int64_t kColTile = 96;

struct Workspace {
  AlignedBuffer queryAcross;     // s·u of the tile's rows, panels across the depth (A of S)
  AlignedBuffer queryAlong;      // u of the tile's rows, panels along the depth (B of dV)
  AlignedBuffer documentAcross;  // v of the tile's columns, panels across the depth (B of S)
  AlignedBuffer documentAlong;   // v of the tile's columns, panels along the depth (B of dU)
  AlignedBuffer logits;          // S, then s·G
  AlignedBuffer gradientRows;    // s·G in panels of rows (A of dU)
  AlignedBuffer gradientColumns; // s·Gᵀ in panels of columns (A of dV)
  AlignedBuffer columnMask, columnMax, columnLogSum, columnWeight;
  std::vector<double> rowSum, columnSum;
  std::vector<float> rowMax, rowLogSum, positiveLogit;
  double logScaleGradient = 0;

  Workspace(const TileKernels& k, int64_t dim)
      : queryAcross(roundUp(kRowTile, k.microRows) * dim),
        queryAlong(kRowTile * roundUp(dim, k.microCols)),
        documentAcross(roundUp(kColTile, k.microCols) * dim),
        documentAlong(kColTile * roundUp(dim, k.microCols)),
        logits(roundUp(kRowTile, k.microRows) * roundUp(kColTile, k.microCols)),
        gradientRows(roundUp(kRowTile, k.microRows) * kColTile),
        gradientColumns(roundUp(roundUp(kColTile, k.microCols), k.microRows) * kRowTile),
        columnMask(roundUp(kColTile, k.microCols)),
        columnMax(roundUp(kColTile, k.microCols)),
        columnLogSum(roundUp(kColTile, k.microCols)),
        columnWeight(roundUp(kColTile, k.microCols)),
        rowSum(kRowTile),
        columnSum(roundUp(kColTile, k.microCols)),
        rowMax(kRowTile),
        rowLogSum(kRowTile),
        positiveLogit(kRowTile) {}
};

class FusedLoss {
 public:
  FusedLoss(const LossProblem& problem, const PreparedProblem& prepared, const TileKernels& kernels)
      : p_(problem),
        prep_(prepared),
        k_(kernels),
        rowTiles_((problem.rows + kRowTile - 1) / kRowTile),
        colTiles_((problem.cols + kColTile - 1) / kColTile),
        rows_(problem.rows),
        columns_(problem.cols),
        positive_(problem.rows, 0.0f) {
    workspaces_.reserve(prepared.threads);
    for (int t = 0; t < prepared.threads; ++t) workspaces_.emplace_back(kernels, problem.dim);
  }

  void run(LossResult& result) {
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) { forEachTile(ctx, &FusedLoss::statisticsTile); });
    rowLogSum_.resize(p_.rows);
    columnLogSum_.resize(p_.cols);
    for (int64_t i = 0; i < p_.rows; ++i) rowLogSum_[i] = static_cast<float>(std::log(rows_.sum[i]));
    for (int64_t j = 0; j < p_.cols; ++j) columnLogSum_[j] = static_cast<float>(std::log(columns_.sum[j]));
    finishResult(p_, prep_, rows_, columns_, positive_, result);

    std::memset(result.gradX, 0, sizeof(float) * p_.rows * p_.dim);
    std::memset(result.gradY, 0, sizeof(float) * p_.cols * p_.dim);
    gradX_ = result.gradX;
    gradY_ = result.gradY;
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) { forEachTile(ctx, &FusedLoss::gradientTile); });
    result.gradLogScale = 0;
    for (const Workspace& w : workspaces_) result.gradLogScale += w.logScaleGradient;
    normalizationBackward(result.gradX, p_.x, prep_.normX, prep_.inverseNormX, p_.rows, p_.dim, prep_.threads);
    normalizationBackward(result.gradY, p_.y, prep_.normY, prep_.inverseNormY, p_.cols, p_.dim, prep_.threads);
  }

 private:
  struct Tile {
    int64_t row0, rows, col0, cols, ld;
  };

  using TileStep = void (FusedLoss::*)(Workspace&, const Tile&, bool firstColumnTile);

  void forEachTile(const ParallelContext& ctx, TileStep step) {
    Workspace& w = workspaces_[ctx.thread()];
    const Range rowRange = chunk(rowTiles_, ctx.thread(), ctx.threads());
    for (int s = 0; s < ctx.threads(); ++s) {
      const Range colRange = chunk(colTiles_, (ctx.thread() + s) % ctx.threads(), ctx.threads());
      for (int64_t I = rowRange.begin; I < rowRange.end; ++I) {
        for (int64_t J = colRange.begin; J < colRange.end; ++J) {
          Tile tile;
          tile.row0 = I * kRowTile;
          tile.rows = std::min<int64_t>(kRowTile, p_.rows - tile.row0);
          tile.col0 = J * kColTile;
          tile.cols = std::min<int64_t>(kColTile, p_.cols - tile.col0);
          tile.ld = roundUp(tile.cols, k_.microCols);
          (this->*step)(w, tile, J == colRange.begin);
        }
      }
      ctx.sync();
    }
  }

  // S for one tile, into w.logits (rows padded to the micro-tile, columns to ld).
  void computeLogits(Workspace& w, const Tile& t, bool packRows) {
    const int64_t D = p_.dim;
    if (packRows)
      k_.packAcrossDepth(p_.x + t.row0 * D, D, t.rows, D, prep_.inverseNormX.data() + t.row0,
                         static_cast<float>(prep_.scale), k_.microRows, w.queryAcross.get());
    k_.packAcrossDepth(p_.y + t.col0 * D, D, t.cols, D, prep_.inverseNormY.data() + t.col0, 1.0f, k_.microCols,
                       w.documentAcross.get());
    k_.multiplyPacked(w.queryAcross.get(), w.documentAcross.get(), roundUp(t.rows, k_.microRows), t.ld, D,
                      w.logits.get(), t.ld, false);
    const float negativeInfinity = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < t.ld; ++c) w.columnMask.get()[c] = c < t.cols ? 0.0f : negativeInfinity;
  }

  // The column of row i's positive inside this tile, or -1.
  int64_t positiveColumn(const Tile& t, int64_t r) const {
    const int64_t target = prep_.targets[t.row0 + r];
    return target >= t.col0 && target < t.col0 + t.cols ? target - t.col0 : -1;
  }

  void statisticsTile(Workspace& w, const Tile& t, bool firstColumnTile) {
    computeLogits(w, t, firstColumnTile);
    const LogitTile tile{w.logits.get(), t.ld, t.rows, t.cols, w.columnMask.get()};
    k_.tileLogSumExp(tile, w.rowMax.data(), w.rowSum.data(), w.columnMax.get(), w.columnSum.data());
    for (int64_t r = 0; r < t.rows; ++r) {
      rows_.merge(t.row0 + r, w.rowMax[r], w.rowSum[r]);
      const int64_t c = positiveColumn(t, r);
      if (c >= 0) positive_[t.row0 + r] = w.logits.get()[r * t.ld + c];
    }
    for (int64_t c = 0; c < t.cols; ++c) columns_.merge(t.col0 + c, w.columnMax.get()[c], w.columnSum[c]);
  }

  void gradientTile(Workspace& w, const Tile& t, bool firstColumnTile) {
    const int64_t D = p_.dim;
    computeLogits(w, t, firstColumnTile);
    if (firstColumnTile)
      k_.packAlongDepth(p_.x + t.row0 * D, D, t.rows, D, prep_.inverseNormX.data() + t.row0, k_.microCols,
                        w.queryAlong.get());
    k_.packAlongDepth(p_.y + t.col0 * D, D, t.cols, D, prep_.inverseNormY.data() + t.col0, k_.microCols,
                      w.documentAlong.get());

    // The positives are masked out of the tile pass (a logit of -1e30 gives P = Q = 0 and G·S = 0)
    // and done here: G = w_r·(P − 1) + w_c·(Q − 1) with P − 1 as expm1, so that a confident P ≈ 1
    // keeps its digits (the cancellation loss.md warns about).
    float* logits = w.logits.get();
    for (int64_t r = 0; r < t.rows; ++r) {
      w.rowMax[r] = rows_.max[t.row0 + r];
      w.rowLogSum[r] = rowLogSum_[t.row0 + r];
      const int64_t c = positiveColumn(t, r);
      if (c < 0) continue;
      w.positiveLogit[r] = logits[r * t.ld + c];
      logits[r * t.ld + c] = -1e30f;
    }
    for (int64_t c = 0; c < t.ld; ++c) {
      const bool real = c < t.cols;
      w.columnMax.get()[c] = real ? columns_.max[t.col0 + c] : 0.0f;
      w.columnLogSum.get()[c] = real ? columnLogSum_[t.col0 + c] : 0.0f;
      w.columnWeight.get()[c] = real ? prep_.columnWeights[t.col0 + c] : 0.0f;
    }
    const LogitTile tile{logits, t.ld, t.rows, t.cols, w.columnMask.get()};
    w.logScaleGradient += k_.tileGradient(tile, w.rowMax.data(), w.rowLogSum.data(), w.columnMax.get(),
                                          w.columnLogSum.get(), w.columnWeight.get(),
                                          static_cast<float>(prep_.rowWeight), static_cast<float>(prep_.scale),
                                          p_.symmetric);
    for (int64_t r = 0; r < t.rows; ++r) {
      const int64_t c = positiveColumn(t, r);
      if (c < 0) continue;
      const double logit = w.positiveLogit[r];
      double g = prep_.rowWeight * std::expm1(logit - rows_.logSumExp(t.row0 + r));
      if (p_.symmetric) g += prep_.columnWeight * std::expm1(logit - columns_.logSumExp(t.col0 + c));
      logits[r * t.ld + c] = static_cast<float>(g * prep_.scale);
      w.logScaleGradient += g * logit;
    }

    // dU_I += s·G·V_J and dV_J += s·Gᵀ·U_I.
    k_.packAcrossDepth(logits, t.ld, t.rows, t.cols, nullptr, 1.0f, k_.microRows, w.gradientRows.get());
    k_.multiplyPacked(w.gradientRows.get(), w.documentAlong.get(), t.rows, D, t.cols, gradX_ + t.row0 * D, D, true);
    k_.packAlongDepth(logits, t.ld, t.rows, t.cols, nullptr, k_.microRows, w.gradientColumns.get());
    k_.multiplyPacked(w.gradientColumns.get(), w.queryAlong.get(), t.cols, D, t.rows, gradY_ + t.col0 * D, D, true);
  }

  const LossProblem& p_;
  const PreparedProblem& prep_;
  const TileKernels& k_;
  const int64_t rowTiles_, colTiles_;
  LogSumExpState rows_, columns_;
  std::vector<float> positive_, rowLogSum_, columnLogSum_;  // log Σ of the row (column) LSE, beside its max
  std::vector<Workspace> workspaces_;
  float* gradX_ = nullptr;
  float* gradY_ = nullptr;
};

}  // namespace
}  // namespace cpu

void contrastiveLossCpuFused(const LossProblem& problem, LossResult& result) {
  const cpu::TileKernels& kernels = cpu::selectTileKernels(problem.isa);
  const cpu::PreparedProblem prepared = cpu::prepareProblem(problem);
  cpu::FusedLoss(problem, prepared, kernels).run(result);
}

}  // namespace infonce
