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
//
// Matryoshka prefixes d₁ < … < d_K (README, "Matryoshka dimensions"): the operands are packed once,
// segment by segment ((d_{k−1}, d_k]), with the full rows' norms; the product accumulated along the
// depth is each prefix's product as it passes d_k, rescaled by a_ik·b_jk (a = ‖x‖/‖x[:d_k]‖) into that
// prefix's logits. Pass 2 combines H_k = w_k·s·G_k·a_k·b_k from the largest prefix down, C_m = Σ_{k≥m}
// H_k, and runs one product per segment with C_m: the matrix work of one full-depth loss. The
// normalisations' radial terms need ⟨u_k, dL/du_k⟩ = w_k·Σ_j G_k·S_k, a row (column) sum the
// epilogue keeps; they are applied at the end (matryoshkaBackward).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "aligned_buffer.h"
#include "infonce.h"
#include "loss_common.h"
#include "matryoshka.h"
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
  // Matryoshka only: the product accumulated along the depth, each prefix's logits (when S is not
  // cached), a prefix's S kept beside its G, and C_m, the combined gradient of the segments.
  AlignedBuffer product, savedLogits, combined;
  std::vector<AlignedBuffer> prefixLogits;
  AlignedBuffer columnScale;  // s·b_jk of the tile's columns (0 on padding)
  std::vector<double> columnDot;  // Σ_i G·S of the tile's columns
  std::vector<double> rowSum, columnSum;
  std::vector<float> rowMax, rowLogSum, positiveLogit;
  double logScaleGradient = 0;
  int64_t tilesSkipped = 0, tiles = 0;

  Workspace(const TileKernels& k, int64_t dim, int group, int prefixes, bool cached, bool groupPositives)
      : documentAcross(roundUp(kColTile, k.microCols) * dim),
        documentAlong(kColTile * (roundUp(dim, k.microCols) + prefixes * k.microCols)),
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
      queryAlong.emplace_back(kRowTile * (roundUp(dim, k.microCols) + prefixes * k.microCols));
    }
    const int64_t tile = roundUp(kRowTile, k.microRows) * roundUp(kColTile, k.microCols);
    if (prefixes > 0 || groupPositives) savedLogits = AlignedBuffer(tile);
    if (prefixes > 0) {
      product = AlignedBuffer(tile);
      combined = AlignedBuffer(tile);
      columnScale = AlignedBuffer(roundUp(kColTile, k.microCols));
      columnDot.resize(kColTile);
      if (!cached)
        for (int q = 0; q < prefixes; ++q) prefixLogits.emplace_back(tile);
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
        matryoshka_(problem.prefixCount > 0),
        prefixes_(matryoshka_ ? problem.prefixCount : 1) {
    if (matryoshka_) {
      dims_.assign(problem.prefixDims, problem.prefixDims + prefixes_);
      weights_.assign(problem.prefixWeights, problem.prefixWeights + prefixes_);
      preparePrefixes();
    } else {
      dims_ = {problem.dim};
      weights_ = {1.0};
    }
    for (int k = 0; k < prefixes_; ++k) {
      rows_.emplace_back(problem.rows);
      columns_.emplace_back(problem.cols);
      positive_.emplace_back(problem.rows, 0.0f);
      if (problem.groupPositives) groupStats_.emplace_back(problem.rows, problem.cols);
    }
    // Keep S between the passes when the budget allows: (tiles) × (padded tile) floats. Not with
    // Matryoshka: there one recomputed product serves every prefix, while the cache would write and
    // read k tiles a tile (measured at M = 4,096, D = 768, k = 4: 0.77 s cached, 0.43 s recomputed).
    const double cacheBytes = 4.0 * double(rowTiles_) * double(colTiles_) * double(tileFloats_);
    if (!matryoshka_ && problem.memoryBudget > 0 && cacheBytes <= double(problem.memoryBudget))
      cache_ = AlignedBuffer(rowTiles_ * colTiles_ * tileFloats_);
    workspaces_.reserve(prepared.threads);
    for (int t = 0; t < prepared.threads; ++t)
      workspaces_.emplace_back(kernels, problem.dim, group_, problem.prefixCount, cache_.get() != nullptr,
                               problem.groupPositives);
  }

  void run(LossResult& result) {
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) { forEachTile(ctx, false); });
    // A shard: the column statistics become the whole batch's (the communicator's combine).
    if (p_.reduceColumns)
      for (int k = 0; k < prefixes_; ++k) p_.reduceColumns(columns_[k].max.data(), columns_[k].sum.data(), p_.cols);
    if (p_.reducePositiveColumns && p_.groupPositives)
      for (int k = 0; k < prefixes_; ++k)
        p_.reducePositiveColumns(groupStats_[k].columnMax.data(), groupStats_[k].columnSum.data(), p_.cols);
    std::vector<LossResult> perPrefix(prefixes_);
    for (int k = 0; k < prefixes_; ++k) {
      rowLogSum_.emplace_back(p_.rows);
      columnLogSum_.emplace_back(p_.cols);
      for (int64_t i = 0; i < p_.rows; ++i) rowLogSum_[k][i] = static_cast<float>(std::log(rows_[k].sum[i]));
      for (int64_t j = 0; j < p_.cols; ++j) columnLogSum_[k][j] = static_cast<float>(std::log(columns_[k].sum[j]));
      finishResult(p_, prep_, rows_[k], columns_[k], positive_[k], matryoshka_ ? perPrefix[k] : result,
                   p_.groupPositives ? &groupStats_[k] : nullptr);
    }
    if (matryoshka_) combinePrefixes(p_, perPrefix, result);

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
    if (matryoshka_) {
      result.gradLogScale = 0;  // dθ = Σₖ wₖ·Σ Gₖ·Sₖ: the row sums the epilogues kept
      for (double v : rowRadial_) result.gradLogScale += v;
      matryoshkaBackward(result.gradX, p_.x, prep_.inverseNormX, prefixNormX_, rowRadial_, p_.rows);
      matryoshkaBackward(result.gradY, p_.y, prep_.inverseNormY, prefixNormY_, columnRadial_, p_.cols);
      return;
    }
    normalizationBackward(result.gradX, p_.x, prep_.normX, prep_.inverseNormX, p_.rows, p_.dim, prep_.threads);
    normalizationBackward(result.gradY, p_.y, prep_.normY, prep_.inverseNormY, p_.cols, p_.dim, prep_.threads);
  }

 private:
  struct Tile {
    int64_t I, J;
    int64_t row0, rows, col0, cols, ld;
    int slot;  // the row tile's place in its group (its packed query panels)
  };

  int64_t segmentBegin(int k) const { return k == 0 ? 0 : dims_[k - 1]; }
  // Where segment k starts in panels along the depth of `depth` rows (each segment packed on its own).
  int64_t alongOffset(int k, int64_t depth) const {
    int64_t columns = 0;
    for (int m = 0; m < k; ++m) columns += roundUp(dims_[m] - segmentBegin(m), k_.microCols);
    return columns * depth;
  }

  // The prefixes' norms and the factors that turn the full rows' product into each prefix's:
  // a_ik = max(‖x_i‖, ε) / max(‖x_i[:d_k]‖, ε).
  void preparePrefixes() {
    prefixNormX_ = prefixNorms(p_.x, p_.rows, p_.dim, dims_.data(), prefixes_, prep_.threads);
    prefixNormY_ = prefixNorms(p_.y, p_.cols, p_.dim, dims_.data(), prefixes_, prep_.threads);
    auto factors = [&](const std::vector<double>& prefix, const std::vector<double>& full, int64_t n) {
      std::vector<float> out(prefix.size());
      for (int k = 0; k < prefixes_; ++k)
        for (int64_t r = 0; r < n; ++r)
          out[k * n + r] =
              static_cast<float>(std::max(full[r], kNormEpsilon) / std::max(prefix[k * n + r], kNormEpsilon));
      return out;
    };
    rowFactor_ = factors(prefixNormX_, prep_.normX, p_.rows);
    columnFactor_ = factors(prefixNormY_, prep_.normY, p_.cols);
    rowRadial_.assign(static_cast<size_t>(prefixes_) * p_.rows, 0.0);
    columnRadial_.assign(static_cast<size_t>(prefixes_) * p_.cols, 0.0);
  }

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
          if (computeLogits) packQueries(w, slot, row0, rows);
          if (gradients)
            for (int k = 0; k < prefixes_; ++k)
              products_.packAlongDepth(p_.x + row0 * D + segmentBegin(k), D, rows, segmentLength(k),
                                       prep_.inverseNormX.data() + row0, k_.microCols,
                                       w.queryAlong[slot].get() + alongOffset(k, rows));
        }
        for (int64_t J = colRange.begin; J < colRange.end; ++J) {
          const int64_t col0 = J * kColTile, cols = std::min(kColTile, p_.cols - col0);
          if (computeLogits) packDocuments(w, col0, cols);
          if (gradients)
            for (int k = 0; k < prefixes_; ++k)
              products_.packAlongDepth(p_.y + col0 * D + segmentBegin(k), D, cols, segmentLength(k),
                                       prep_.inverseNormY.data() + col0, k_.microCols,
                                       w.documentAlong.get() + alongOffset(k, cols));
          const int64_t ld = roundUp(cols, k_.microCols);
          const float negativeInfinity = -std::numeric_limits<float>::infinity();
          for (int64_t c = 0; c < ld; ++c) w.columnMask.get()[c] = c < cols ? 0.0f : negativeInfinity;
          for (int64_t I = first; I < last; ++I) {
            const int64_t row0 = I * kRowTile;
            const Tile t{I, J, row0, std::min(kRowTile, p_.rows - row0), col0, cols, ld, static_cast<int>(I - first)};
            if (computeLogits) {
              if (matryoshka_) prefixLogitsTile(w, t);
              else fullLogitsTile(w, t);
            }
            if (gradients && matryoshka_) {
              matryoshkaGradientTile(w, t);
            } else if (gradients) {
              gradientTile(w, t, tileLogits(w, t, 0));
            } else {
              for (int k = 0; k < prefixes_; ++k) statisticsTile(w, t, tileLogits(w, t, k), k);
            }
          }
        }
      }
      ctx.sync();
    }
  }

  int64_t segmentLength(int k) const { return dims_[k] - segmentBegin(k); }

  // Panels across the depth of u (the full rows' normalisation), a segment at a time for Matryoshka:
  // segment k's panels start at padded rows × its first coordinate.
  void packQueries(Workspace& w, int slot, int64_t row0, int64_t rows) {
    for (int k = 0; k < prefixes_; ++k)
      products_.packAcrossDepth(p_.x + row0 * p_.dim + segmentBegin(k), p_.dim, rows, segmentLength(k),
                                prep_.inverseNormX.data() + row0, 1.0f, k_.microRows,
                                w.queryAcross[slot].get() + roundUp(rows, k_.microRows) * segmentBegin(k));
  }
  void packDocuments(Workspace& w, int64_t col0, int64_t cols) {
    for (int k = 0; k < prefixes_; ++k)
      products_.packAcrossDepth(p_.y + col0 * p_.dim + segmentBegin(k), p_.dim, cols, segmentLength(k),
                                prep_.inverseNormY.data() + col0, 1.0f, k_.microCols,
                                w.documentAcross.get() + roundUp(cols, k_.microCols) * segmentBegin(k));
  }

  // S = s·(u·v): the scale after the product, so that a bf16 operand is the rounded u itself (as on
  // the GPU and in the tests' reference), not a rounded s·u. Then group masking, an int compare per
  // logit, before either pass reads the tile (and before the cache keeps it).
  void fullLogitsTile(Workspace& w, const Tile& t) {
    float* logits = tileLogits(w, t, 0);
    const int64_t count = roundUp(t.rows, k_.microRows) * t.ld;
    products_.multiplyPacked(w.queryAcross[t.slot].get(), w.documentAcross.get(), roundUp(t.rows, k_.microRows), t.ld,
                             p_.dim, logits, t.ld, false);
    const float scale = static_cast<float>(prep_.scale);
    for (int64_t e = 0; e < count; ++e) logits[e] *= scale;
    maskGroups(p_, prep_, logits, t.ld, t.row0, t.rows, t.col0, t.cols);
  }

  // Each prefix's logits from the one product accumulated along the depth: when it has passed d_k,
  // S_k = s·a_k·b_k·(u·v)[:d_k].
  void prefixLogitsTile(Workspace& w, const Tile& t) {
    const int64_t rowsPadded = roundUp(t.rows, k_.microRows);
    float* product = w.product.get();
    float* columnScale = w.columnScale.get();
    for (int k = 0; k < prefixes_; ++k) {
      const int64_t begin = segmentBegin(k);
      products_.multiplyPacked(w.queryAcross[t.slot].get() + rowsPadded * begin, w.documentAcross.get() + t.ld * begin,
                               rowsPadded, t.ld, segmentLength(k), product, t.ld, k > 0);
      const float* a = rowFactor_.data() + k * p_.rows + t.row0;
      const float* b = columnFactor_.data() + k * p_.cols + t.col0;
      for (int64_t c = 0; c < t.ld; ++c) columnScale[c] = c < t.cols ? static_cast<float>(prep_.scale) * b[c] : 0.0f;
      float* logits = tileLogits(w, t, k);
      for (int64_t r = 0; r < rowsPadded; ++r) {
        const float ar = r < t.rows ? a[r] : 0.0f;
        const float* in = product + r * t.ld;
        float* out = logits + r * t.ld;
        for (int64_t c = 0; c < t.ld; ++c) out[c] = in[c] * ar * columnScale[c];
      }
      maskGroups(p_, prep_, logits, t.ld, t.row0, t.rows, t.col0, t.cols);
    }
  }

  // Where tile (I, J)'s logits of prefix k live: its slot of the cache, or the thread's scratch tile.
  float* tileLogits(Workspace& w, const Tile& t, int k) const {
    if (matryoshka_) return w.prefixLogits[k].get();
    return cache_.get() ? cache_.get() + (t.I * colTiles_ + t.J) * tileFloats_ : w.logits.get();
  }

  // The column of row i's positive inside this tile, or -1.
  int64_t positiveColumn(const Tile& t, int64_t r) const {
    const int64_t target = prep_.targets[t.row0 + r];
    return target >= t.col0 && target < t.col0 + t.cols ? target - t.col0 : -1;
  }

  void statisticsTile(Workspace& w, const Tile& t, float* logits, int k) {
    const LogitTile tile{logits, t.ld, t.rows, t.cols, w.columnMask.get()};
    k_.tileLogSumExp(tile, w.rowMax.data(), w.rowSum.data(), w.columnMax.get(), w.columnSum.data());
    for (int64_t r = 0; r < t.rows; ++r) {
      rows_[k].merge(t.row0 + r, w.rowMax[r], w.rowSum[r]);
      const int64_t c = positiveColumn(t, r);
      if (c >= 0) positive_[k][t.row0 + r] = logits[r * t.ld + c];
    }
    for (int64_t c = 0; c < t.cols; ++c) columns_[k].merge(t.col0 + c, w.columnMax.get()[c], w.columnSum[c]);
    if (p_.groupPositives) groupStats_[k].addTile(p_, prep_, logits, t.ld, t.row0, t.rows, t.col0, t.cols);
  }

  // Overwrites prefix k's logits with weight·s·G_k; returns Σ G·S (unweighted) and max |G|. `saved`:
  // a copy of S the caller made (positives by group need S after it is overwritten), or null.
  TileGradientSums gradientEpilogue(Workspace& w, const Tile& t, float* logits, int k, double weight,
                                    const float* saved = nullptr) {
    if (p_.groupPositives && !saved) {
      std::memcpy(w.savedLogits.get(), logits, sizeof(float) * t.rows * t.ld);
      saved = w.savedLogits.get();
    }
    // The positives are masked out of the tile pass (a logit of -1e30 gives P = Q = 0 and G·S = 0)
    // and done here: G = w_r·(P − 1) + w_c·(Q − 1) with P − 1 as expm1, so that a confident P ≈ 1
    // keeps its digits (the cancellation the README, The loss, warns about).
    for (int64_t r = 0; r < t.rows; ++r) {
      w.rowMax[r] = rows_[k].max[t.row0 + r];
      w.rowLogSum[r] = rowLogSum_[k][t.row0 + r];
      const int64_t c = positiveColumn(t, r);
      if (c < 0) continue;
      w.positiveLogit[r] = logits[r * t.ld + c];
      logits[r * t.ld + c] = -1e30f;
    }
    for (int64_t c = 0; c < t.ld; ++c) {
      const bool real = c < t.cols;
      w.columnMax.get()[c] = real ? columns_[k].max[t.col0 + c] : 0.0f;
      w.columnLogSum.get()[c] = real ? columnLogSum_[k][t.col0 + c] : 0.0f;
      w.columnWeight.get()[c] = real ? prep_.columnWeights[t.col0 + c] : 0.0f;
    }
    const LogitTile tile{logits, t.ld, t.rows, t.cols, w.columnMask.get()};
    TileGradientSums sums =
        k_.tileGradient(tile, w.rowMax.data(), w.rowLogSum.data(), w.columnMax.get(), w.columnLogSum.get(),
                        w.columnWeight.get(), static_cast<float>(prep_.rowWeight),
                        static_cast<float>(prep_.scale * weight), p_.symmetric);
    double largest = sums.largest;
    for (int64_t r = 0; r < t.rows; ++r) {
      const int64_t c = positiveColumn(t, r);
      if (c < 0) continue;
      const double logit = w.positiveLogit[r];
      double g;
      if (p_.groupPositives) {  // G = w_r·(P − 1/|P(i)|) + w_c·(Q − 1/|Q(j)|)
        g = prep_.rowWeight *
            probabilityMinusShare(logit, rows_[k].logSumExp(t.row0 + r), prep_.rowPositives[t.row0 + r]);
        if (p_.symmetric)
          g += prep_.columnWeight * probabilityMinusShare(logit, columns_[k].logSumExp(t.col0 + c),
                                                          prep_.columnPositives[t.col0 + c]);
      } else {
        g = prep_.rowWeight * std::expm1(logit - rows_[k].logSumExp(t.row0 + r));
        if (p_.symmetric) g += prep_.columnWeight * std::expm1(logit - columns_[k].logSumExp(t.col0 + c));
      }
      logits[r * t.ld + c] = static_cast<float>(g * prep_.scale * weight);
      sums.logitDot += g * logit;
      largest = std::max(largest, std::abs(g));
    }
    // The other positives (same group): the tile pass gave them w_r·P + w_c·Q like any negative;
    // their shares of the target come off here.
    if (p_.groupPositives)
      for (int64_t r = 0; r < t.rows; ++r) {
        const int64_t i = t.row0 + r;
        const int32_t group = p_.rowGroups[i];
        if (group < 0) continue;
        const double rowShare = prep_.rowWeight / prep_.rowPositives[i];
        for (int64_t c = 0; c < t.cols; ++c) {
          const int64_t j = t.col0 + c;
          if (p_.columnGroups[j] != group || j == prep_.targets[i]) continue;
          const double columnCount = prep_.columnPositives[j];
          const double share = rowShare + (columnCount > 0 ? prep_.columnWeights[j] / columnCount : 0.0);
          float& entry = logits[r * t.ld + c];
          entry = static_cast<float>(entry - share * prep_.scale * weight);
          sums.logitDot -= share * saved[r * t.ld + c];
          largest = std::max(largest, std::abs(double(entry) / (prep_.scale * weight)));
        }
      }
    sums.largest = static_cast<float>(largest);
    return sums;
  }

  void gradientTile(Workspace& w, const Tile& t, float* logits) {
    const TileGradientSums sums = gradientEpilogue(w, t, logits, 0, 1.0);
    w.logScaleGradient += sums.logitDot;

    // dU_I += s·G·V_J and dV_J += s·Gᵀ·U_I, unless the filter finds nothing worth adding.
    ++w.tiles;
    if (p_.gradientFilter > 0 && double(sums.largest) * double(p_.rows) < p_.gradientFilter) {
      ++w.tilesSkipped;
      return;
    }
    segmentProducts(w, t, logits, 0);
  }

  // dU_I[:, segment k] += A·V_J[:, segment k] and dV_J[:, segment k] += Aᵀ·U_I[:, segment k].
  void segmentProducts(Workspace& w, const Tile& t, const float* a, int k) {
    const int64_t D = p_.dim, begin = segmentBegin(k), length = segmentLength(k);
    products_.packAcrossDepth(a, t.ld, t.rows, t.cols, nullptr, 1.0f, k_.microRows, w.gradientRows.get());
    products_.multiplyPacked(w.gradientRows.get(), w.documentAlong.get() + alongOffset(k, t.cols), t.rows, length,
                             t.cols, gradX_ + t.row0 * D + begin, D, true);
    products_.packAlongDepth(a, t.ld, t.rows, t.cols, nullptr, k_.microRows, w.gradientColumns.get());
    products_.multiplyPacked(w.gradientColumns.get(), w.queryAlong[t.slot].get() + alongOffset(k, t.rows), t.cols,
                             length, t.rows, gradY_ + t.col0 * D + begin, D, true);
  }

  // From the largest prefix down: H_k = w_k·s·G_k·a_k·b_k added into C, then segment k's products
  // with C = Σ_{j≥k} H_j. Each prefix's Σ G·S per row and column (the radial terms) on the way.
  void matryoshkaGradientTile(Workspace& w, const Tile& t) {
    float* combined = w.combined.get();
    float* saved = w.savedLogits.get();
    const float unscale = static_cast<float>(1.0 / prep_.scale);
    ++w.tiles;
    for (int k = prefixes_ - 1; k >= 0; --k) {
      float* logits = tileLogits(w, t, k);
      std::memcpy(saved, logits, sizeof(float) * t.rows * t.ld);
      gradientEpilogue(w, t, logits, k, weights_[k], saved);
      const float* a = rowFactor_.data() + k * p_.rows + t.row0;
      const float* b = columnFactor_.data() + k * p_.cols + t.col0;
      std::fill(w.columnDot.begin(), w.columnDot.begin() + t.cols, 0.0);
      for (int64_t r = 0; r < t.rows; ++r) {
        const float* g = logits + r * t.ld;
        const float* s = saved + r * t.ld;
        float* out = combined + r * t.ld;
        const float ar = a[r];
        double rowDot = 0;
        for (int64_t c = 0; c < t.cols; ++c) {
          const float dot = g[c] * unscale * s[c];
          rowDot += dot;
          w.columnDot[c] += dot;
          const float h = g[c] * ar * b[c];
          out[c] = k == prefixes_ - 1 ? h : out[c] + h;
        }
        rowRadial_[k * p_.rows + t.row0 + r] += rowDot;
      }
      for (int64_t c = 0; c < t.cols; ++c) columnRadial_[k * p_.cols + t.col0 + c] += w.columnDot[c];
      segmentProducts(w, t, combined, k);
    }
  }

  // grad holds Σ_c C·v (the products, in the full rows' normalisation) on entry, dL/dx on return:
  // dx[:d_k] gets (1/‖x‖)·products − Σ_{k: ‖x[:d_k]‖ > ε} x[:d_k]·ρ_k/‖x[:d_k]‖², ρ_k = ⟨u_k, dL/du_k⟩.
  void matryoshkaBackward(float* grad, const float* x, const std::vector<float>& inverseNorm,
                          const std::vector<double>& prefixNorm, const std::vector<double>& radial, int64_t n) {
    parallelRun(prep_.threads, [&](const ParallelContext& ctx) {
      const auto mine = ctx.share(n);
      std::vector<double> suffix(prefixes_ + 1);
      for (int64_t r = mine.begin; r < mine.end; ++r) {
        suffix[prefixes_] = 0;
        for (int k = prefixes_ - 1; k >= 0; --k) {
          const double norm = prefixNorm[k * n + r];
          suffix[k] = suffix[k + 1] + (norm > kNormEpsilon ? radial[k * n + r] / (norm * norm) : 0.0);
        }
        float* g = grad + r * p_.dim;
        const float* row = x + r * p_.dim;
        const double inv = inverseNorm[r];
        for (int k = 0; k < prefixes_; ++k)
          for (int64_t c = segmentBegin(k); c < dims_[k]; ++c)
            g[c] = static_cast<float>(static_cast<double>(g[c]) * inv - static_cast<double>(row[c]) * suffix[k]);
      }
    });
  }

  const LossProblem& p_;
  const PreparedProblem& prep_;
  const TileKernels& k_;
  const ProductKernels& products_;
  const int64_t rowTiles_, colTiles_, tileFloats_;
  const int group_;
  const bool matryoshka_;
  const int prefixes_;  // 1 without Matryoshka: the whole depth
  std::vector<int64_t> dims_;
  std::vector<double> weights_;
  AlignedBuffer cache_;  // S of every tile, kept from pass 1 to pass 2 when the budget allows
  std::vector<LogSumExpState> rows_, columns_;  // per prefix
  std::vector<std::vector<float>> positive_, rowLogSum_, columnLogSum_;  // per prefix; log Σ beside the max
  std::vector<PositiveStatistics> groupStats_;  // per prefix, with positives by group
  // Matryoshka: ‖x[:d_k]‖ (prefix-major), a_k = ‖x‖/‖x[:d_k]‖ (b_k for y), and the radial sums
  // ρ_k = w_k·Σ G_k·S_k per row (column).
  std::vector<double> prefixNormX_, prefixNormY_, rowRadial_, columnRadial_;
  std::vector<float> rowFactor_, columnFactor_;
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
