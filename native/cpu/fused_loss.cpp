// The fused contrastive loss on the CPU: never holds more than a tile of the M×N logits (unless a
// memory budget lets it keep S between the passes).
//
// FLOPs for M queries, N documents, depth D: pass 1 computes every tile of S once (2·M·N·D) and both
// log-sum-exps from it; pass 2 recomputes each tile once (2·M·N·D, skipped when S is kept) and from
// it accumulates dU += G·V and dV += Gᵀ·U (4·M·N·D): 8·M·N·D in all (6 with the cache), plus ~4 exp
// per logit. Bytes: x, y, gradX, gradY (4·(M+N)·D floats), O(M+N) statistics, per thread a few packed
// panels of (tile × D) floats, and 4·M·N for the cache when it is on.
//
// Schedule: the rows are cut into T chunks (one per thread) and the columns into T chunks; in step
// k thread t works on (row chunk t, column chunk (t+k) mod T), then all threads meet at a barrier.
// So in every step each row and each column has exactly one owner: the row statistics and dX rows
// belong to one thread, the column statistics and dY rows to the thread of that step. No atomics,
// no per-thread copies of dY to merge, and the order of every sum is fixed by T alone, which makes
// the result bit-identical from run to run.
//
// Within a step, row tiles go in groups that share one packing of each document tile: packing is
// memory-bound, and repacked per row tile it cost ~30% of the time at D = 768.
#include <unistd.h>

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

// Tile sizes: 96 is a multiple of every micro-tile's rows and columns (12×32, 6×16, 4×8); the packed
// panels of one row tile and one column tile total ~1.2 MB at D = 768.
constexpr int64_t kRowTile = 96;
constexpr int64_t kColTile = 96;

// Row tiles that share one packing of a document tile: as many as keep their packed panels
// (2 · 96 · D floats each) within this thread's share of half the last-level cache, at most 8.
int rowGroupFor(int64_t dim, int threads) {
  long cache = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (cache <= 0) cache = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (cache <= 0) cache = 8L << 20;
  const double perTile = 2.0 * kRowTile * double(dim) * sizeof(float);
  const double share = 0.5 * double(cache) / std::max(1, threads);
  return static_cast<int>(std::clamp(share / perTile, 1.0, 8.0));
}

struct Workspace {
  std::vector<AlignedBuffer> queryAcross;  // per row tile of the group: s·u, panels across the depth (A of S)
  std::vector<AlignedBuffer> queryAlong;   // per row tile of the group: u, panels along the depth (B of dV)
  AlignedBuffer documentAcross;  // v of the tile's columns, panels across the depth (B of S)
  AlignedBuffer documentAlong;   // v of the tile's columns, panels along the depth (B of dU)
  AlignedBuffer logits;          // S, then s·G (when S is not cached)
  AlignedBuffer gradientRows;    // s·G in panels of rows (A of dU)
  AlignedBuffer gradientColumns; // s·Gᵀ in panels of columns (A of dV)
  AlignedBuffer columnMask, columnMax, columnLogSum, columnWeight;
  std::vector<double> rowSum, columnSum;
  std::vector<float> rowMax, rowLogSum, positiveLogit;
  double logScaleGradient = 0;
  int64_t tilesSkipped = 0, tiles = 0;

  Workspace(const TileKernels& k, int64_t dim, int group)
      : documentAcross(roundUp(kColTile, k.microCols) * dim),
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
        positiveLogit(kRowTile) {
    for (int g = 0; g < group; ++g) {
      queryAcross.emplace_back(roundUp(kRowTile, k.microRows) * dim);
      queryAlong.emplace_back(kRowTile * roundUp(dim, k.microCols));
    }
  }
};

class FusedLoss {
 public:
  FusedLoss(const LossProblem& problem, const PreparedProblem& prepared, const TileKernels& kernels)
      : p_(problem),
        prep_(prepared),
        k_(kernels),
        products_(problem.precision == Precision::Bf16 ? kernels.bf16 : kernels.fp32),
        rowTiles_((problem.rows + kRowTile - 1) / kRowTile),
        colTiles_((problem.cols + kColTile - 1) / kColTile),
        tileFloats_(roundUp(kRowTile, kernels.microRows) * roundUp(kColTile, kernels.microCols)),
        group_(rowGroupFor(problem.dim, prepared.threads)),
        rows_(problem.rows),
        columns_(problem.cols),
        positive_(problem.rows, 0.0f) {
    // Keep S between the passes when the budget allows: (tiles) × (padded tile) floats.
    const double cacheBytes = 4.0 * double(rowTiles_) * double(colTiles_) * double(tileFloats_);
    if (problem.memoryBudget > 0 && cacheBytes <= double(problem.memoryBudget))
      cache_ = AlignedBuffer(rowTiles_ * colTiles_ * tileFloats_);
    workspaces_.reserve(prepared.threads);
    for (int t = 0; t < prepared.threads; ++t) workspaces_.emplace_back(kernels, problem.dim, group_);
  }

  void run(LossResult& result) {
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) { forEachTile(ctx, false); });
    rowLogSum_.resize(p_.rows);
    columnLogSum_.resize(p_.cols);
    for (int64_t i = 0; i < p_.rows; ++i) rowLogSum_[i] = static_cast<float>(std::log(rows_.sum[i]));
    for (int64_t j = 0; j < p_.cols; ++j) columnLogSum_[j] = static_cast<float>(std::log(columns_.sum[j]));
    finishResult(p_, prep_, rows_, columns_, positive_, result);

    std::memset(result.gradX, 0, sizeof(float) * p_.rows * p_.dim);
    std::memset(result.gradY, 0, sizeof(float) * p_.cols * p_.dim);
    gradX_ = result.gradX;
    gradY_ = result.gradY;
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) { forEachTile(ctx, true); });
    result.gradLogScale = 0;
    result.tilesSkipped = result.tiles = 0;
    for (const Workspace& w : workspaces_) {
      result.gradLogScale += w.logScaleGradient;
      result.tilesSkipped += w.tilesSkipped;
      result.tiles += w.tiles;
    }
    result.logitsCached = cache_.get() != nullptr;
    normalizationBackward(result.gradX, p_.x, prep_.normX, prep_.inverseNormX, p_.rows, p_.dim, prep_.threads);
    normalizationBackward(result.gradY, p_.y, prep_.normY, prep_.inverseNormY, p_.cols, p_.dim, prep_.threads);
  }

 private:
  struct Tile {
    int64_t I, J;
    int64_t row0, rows, col0, cols, ld;
    int slot;  // the row tile's place in its group (its packed query panels)
  };

  void forEachTile(const ParallelContext& ctx, bool gradients) {
    Workspace& w = workspaces_[ctx.thread()];
    const Range rowRange = chunk(rowTiles_, ctx.thread(), ctx.threads());
    const int64_t D = p_.dim;
    // Pass 2 with S kept needs no panels across the depth: only the gradient products' operands.
    const bool computeLogits = !(gradients && cache_.get());
    for (int s = 0; s < ctx.threads(); ++s) {
      const Range colRange = chunk(colTiles_, (ctx.thread() + s) % ctx.threads(), ctx.threads());
      for (int64_t first = rowRange.begin; first < rowRange.end && colRange.begin < colRange.end; first += group_) {
        const int64_t last = std::min(rowRange.end, first + group_);
        for (int64_t I = first; I < last; ++I) {
          const int slot = static_cast<int>(I - first);
          const int64_t row0 = I * kRowTile, rows = std::min(kRowTile, p_.rows - row0);
          if (computeLogits)
            products_.packAcrossDepth(p_.x + row0 * D, D, rows, D, prep_.inverseNormX.data() + row0, 1.0f,
                                      k_.microRows, w.queryAcross[slot].get());
          if (gradients)
            products_.packAlongDepth(p_.x + row0 * D, D, rows, D, prep_.inverseNormX.data() + row0, k_.microCols,
                                     w.queryAlong[slot].get());
        }
        for (int64_t J = colRange.begin; J < colRange.end; ++J) {
          const int64_t col0 = J * kColTile, cols = std::min(kColTile, p_.cols - col0);
          if (computeLogits)
            products_.packAcrossDepth(p_.y + col0 * D, D, cols, D, prep_.inverseNormY.data() + col0, 1.0f,
                                      k_.microCols, w.documentAcross.get());
          if (gradients)
            products_.packAlongDepth(p_.y + col0 * D, D, cols, D, prep_.inverseNormY.data() + col0, k_.microCols,
                                     w.documentAlong.get());
          const int64_t ld = roundUp(cols, k_.microCols);
          const float negativeInfinity = -std::numeric_limits<float>::infinity();
          for (int64_t c = 0; c < ld; ++c) w.columnMask.get()[c] = c < cols ? 0.0f : negativeInfinity;
          for (int64_t I = first; I < last; ++I) {
            const int64_t row0 = I * kRowTile;
            const Tile t{I, J, row0, std::min(kRowTile, p_.rows - row0), col0, cols, ld, static_cast<int>(I - first)};
            float* logits = tileLogits(w, t);
            if (computeLogits) {
              // S = s·(u·v): the scale after the product, so that a bf16 operand is the rounded u
              // itself (as on the GPU and in the tests' reference), not a rounded s·u.
              const int64_t count = roundUp(t.rows, k_.microRows) * t.ld;
              products_.multiplyPacked(w.queryAcross[t.slot].get(), w.documentAcross.get(),
                                       roundUp(t.rows, k_.microRows), t.ld, D, logits, t.ld, false);
              const float scale = static_cast<float>(prep_.scale);
              for (int64_t e = 0; e < count; ++e) logits[e] *= scale;
              // Group masking: an int compare per logit, before either pass reads the tile (and
              // before the cache keeps it).
              maskGroups(p_, prep_, logits, t.ld, t.row0, t.rows, t.col0, t.cols);
            }
            if (gradients) gradientTile(w, t, logits);
            else statisticsTile(w, t, logits);
          }
        }
      }
      ctx.sync();
    }
  }

  // Where tile (I, J)'s logits live: its slot of the cache, or the thread's scratch tile.
  float* tileLogits(Workspace& w, const Tile& t) const {
    return cache_.get() ? cache_.get() + (t.I * colTiles_ + t.J) * tileFloats_ : w.logits.get();
  }

  // The column of row i's positive inside this tile, or -1.
  int64_t positiveColumn(const Tile& t, int64_t r) const {
    const int64_t target = prep_.targets[t.row0 + r];
    return target >= t.col0 && target < t.col0 + t.cols ? target - t.col0 : -1;
  }

  void statisticsTile(Workspace& w, const Tile& t, float* logits) {
    const LogitTile tile{logits, t.ld, t.rows, t.cols, w.columnMask.get()};
    k_.tileLogSumExp(tile, w.rowMax.data(), w.rowSum.data(), w.columnMax.get(), w.columnSum.data());
    for (int64_t r = 0; r < t.rows; ++r) {
      rows_.merge(t.row0 + r, w.rowMax[r], w.rowSum[r]);
      const int64_t c = positiveColumn(t, r);
      if (c >= 0) positive_[t.row0 + r] = logits[r * t.ld + c];
    }
    for (int64_t c = 0; c < t.cols; ++c) columns_.merge(t.col0 + c, w.columnMax.get()[c], w.columnSum[c]);
  }

  void gradientTile(Workspace& w, const Tile& t, float* logits) {
    const int64_t D = p_.dim;
    // The positives are masked out of the tile pass (a logit of -1e30 gives P = Q = 0 and G·S = 0)
    // and done here: G = w_r·(P − 1) + w_c·(Q − 1) with P − 1 as expm1, so that a confident P ≈ 1
    // keeps its digits (the cancellation the README, The loss, warns about).
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
    const TileGradientSums sums =
        k_.tileGradient(tile, w.rowMax.data(), w.rowLogSum.data(), w.columnMax.get(), w.columnLogSum.get(),
                        w.columnWeight.get(), static_cast<float>(prep_.rowWeight), static_cast<float>(prep_.scale),
                        p_.symmetric);
    w.logScaleGradient += sums.logitDot;
    double largest = sums.largest;
    for (int64_t r = 0; r < t.rows; ++r) {
      const int64_t c = positiveColumn(t, r);
      if (c < 0) continue;
      const double logit = w.positiveLogit[r];
      double g = prep_.rowWeight * std::expm1(logit - rows_.logSumExp(t.row0 + r));
      if (p_.symmetric) g += prep_.columnWeight * std::expm1(logit - columns_.logSumExp(t.col0 + c));
      logits[r * t.ld + c] = static_cast<float>(g * prep_.scale);
      w.logScaleGradient += g * logit;
      largest = std::max(largest, std::abs(g));
    }

    // dU_I += s·G·V_J and dV_J += s·Gᵀ·U_I, unless the filter finds nothing worth adding.
    ++w.tiles;
    if (p_.gradientFilter > 0 && largest * double(p_.rows) < p_.gradientFilter) {
      ++w.tilesSkipped;
      return;
    }
    products_.packAcrossDepth(logits, t.ld, t.rows, t.cols, nullptr, 1.0f, k_.microRows, w.gradientRows.get());
    products_.multiplyPacked(w.gradientRows.get(), w.documentAlong.get(), t.rows, D, t.cols, gradX_ + t.row0 * D, D,
                             true);
    products_.packAlongDepth(logits, t.ld, t.rows, t.cols, nullptr, k_.microRows, w.gradientColumns.get());
    products_.multiplyPacked(w.gradientColumns.get(), w.queryAlong[t.slot].get(), t.cols, D, t.rows,
                             gradY_ + t.col0 * D, D, true);
  }

  const LossProblem& p_;
  const PreparedProblem& prep_;
  const TileKernels& k_;
  const ProductKernels& products_;
  const int64_t rowTiles_, colTiles_, tileFloats_;
  const int group_;
  AlignedBuffer cache_;  // S of every tile, kept from pass 1 to pass 2 when the budget allows
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
