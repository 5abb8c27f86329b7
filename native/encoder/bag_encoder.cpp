// The bag encoder's forward and backward.
//
// FLOPs for a batch of T texts of n tokens, width E, output D: forward 2·T·n·E (pooling) + 2·T·E·D
// (projection); backward 2·T·E·D (dW) + 2·T·E·D (dpooled) + 2·T·n·E (scatter). Bytes: the touched
// table rows (T·n·E floats at most) — never the whole tables, whatever the vocabulary.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../cpu/thread_pool.h"
#include "infonce_bag_encoder.h"

namespace infonce {
namespace {


// The weight of item i of a text (its token, and with `bigram` the pair it starts): 1 without weights.
float tokenWeight(const BagParameters& p, const BagBatch& b, int64_t i) {
  return p.tokenWeights ? p.tokenWeights[b.ids[i]] : 1.0f;
}
float bigramWeight(const BagParameters& p, const BagBatch& b, int64_t i) {
  return p.tokenWeights ? 0.5f * (p.tokenWeights[b.ids[i]] + p.tokenWeights[b.ids[i + 1]]) : 1.0f;
}

// The factor of text t's weighted sum: 1/Σw (mean) or 1/√Σw, Σw = n tokens + (n − 1) bigrams unweighted.
float poolingScale(Pooling pooling, const BagParameters& p, const BagBatch& b, int64_t t) {
  float total = 0.0f;
  for (int64_t i = b.offsets[t]; i < b.offsets[t + 1]; ++i) {
    total += tokenWeight(p, b, i);
    if (i + 1 < b.offsets[t + 1]) total += bigramWeight(p, b, i);
  }
  return pooling == Pooling::Mean ? 1.0f / total : 1.0f / std::sqrt(total);
}

// Sorted distinct row ids touched by the batch, and for each (text, item) its index among them.
void touchedRows(const BagBatch& b, int64_t buckets, std::vector<int32_t>& tokenRows, std::vector<int32_t>& bigramRows) {
  const int64_t total = b.offsets[b.texts];
  tokenRows.assign(b.ids, b.ids + total);
  bigramRows.clear();
  bigramRows.reserve(total);
  for (int64_t t = 0; t < b.texts; ++t)
    for (int64_t i = b.offsets[t]; i + 1 < b.offsets[t + 1]; ++i)
      bigramRows.push_back(static_cast<int32_t>(bigramBucket(b.ids[i], b.ids[i + 1], buckets)));
  for (auto* rows : {&tokenRows, &bigramRows}) {
    std::sort(rows->begin(), rows->end());
    rows->erase(std::unique(rows->begin(), rows->end()), rows->end());
  }
}

int64_t indexOf(const std::vector<int32_t>& rows, int32_t id) {
  return std::lower_bound(rows.begin(), rows.end(), id) - rows.begin();
}

}  // namespace

uint32_t bigramBucket(int32_t a, int32_t b, int64_t buckets) {
  // A fixed multiply-xorshift mix of the pair (splitmix64's finaliser): stable across versions.
  uint64_t h = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<uint32_t>(h % uint64_t(buckets));
}

void bagForward(const BagShape& s, const BagParameters& p, const BagBatch& b, float* pooled, float* out, int threads) {
  const int64_t E = s.width, D = s.dim;
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto texts = ctx.share(b.texts);
    std::vector<float> sum(E);
    for (int64_t t = texts.begin; t < texts.end; ++t) {
      std::fill(sum.begin(), sum.end(), 0.0f);
      const int64_t first = b.offsets[t], last = b.offsets[t + 1];
      for (int64_t i = first; i < last; ++i) {
        const float* row = p.tokens + int64_t(b.ids[i]) * E;
        const float w = tokenWeight(p, b, i);
        for (int64_t e = 0; e < E; ++e) sum[e] += w * row[e];
        if (i + 1 < last) {
          const float* pair = p.bigrams + int64_t(bigramBucket(b.ids[i], b.ids[i + 1], s.buckets)) * E;
          const float wb = bigramWeight(p, b, i);
          for (int64_t e = 0; e < E; ++e) sum[e] += wb * pair[e];
        }
      }
      const float scale = poolingScale(s.pooling, p, b, t);
      float* h = pooled + t * E;
      for (int64_t e = 0; e < E; ++e) h[e] = sum[e] * scale;
      float* o = out + t * D;
      std::fill(o, o + D, 0.0f);
      for (int64_t e = 0; e < E; ++e) {
        const float he = h[e];
        const float* w = p.projection + e * D;
        for (int64_t d = 0; d < D; ++d) o[d] += he * w[d];
      }
    }
  });
}

void bagBackward(const BagShape& s, const BagParameters& p, const BagBatch& b, const float* pooled,
                 const float* gradOut, BagGradients& g, int threads) {
  const int64_t E = s.width, D = s.dim;
  // dpooled = gradOut · Wᵀ, per text (threads over texts).
  std::vector<float> gradPooled(size_t(b.texts * E));
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto texts = ctx.share(b.texts);
    for (int64_t t = texts.begin; t < texts.end; ++t) {
      const float* go = gradOut + t * D;
      float* gp = gradPooled.data() + t * E;
      for (int64_t e = 0; e < E; ++e) {
        const float* w = p.projection + e * D;
        float acc = 0;
        for (int64_t d = 0; d < D; ++d) acc += w[d] * go[d];
        gp[e] = acc;
      }
    }
  });
  // dW = pooledᵀ · gradOut: threads over rows e of W, each summing over texts in order.
  g.projection.assign(size_t(E * D), 0.0f);
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto rows = ctx.share(E);
    for (int64_t t = 0; t < b.texts; ++t) {
      const float* go = gradOut + t * D;
      for (int64_t e = rows.begin; e < rows.end; ++e) {
        const float he = pooled[t * E + e];
        float* gw = g.projection.data() + e * D;
        for (int64_t d = 0; d < D; ++d) gw[d] += he * go[d];
      }
    }
  });
  // The table rows: each touched row's gradient is Σ over its occurrences of scale·weight·dpooled. Threads
  // own disjoint sets of rows (by index) and visit the texts in order: deterministic.
  touchedRows(b, s.buckets, g.tokens.rows, g.bigrams.rows);
  g.tokens.grads.assign(g.tokens.rows.size() * E, 0.0f);
  g.bigrams.grads.assign(g.bigrams.rows.size() * E, 0.0f);
  // Each occurrence's place among the touched rows, found once (the bigram of the last token of a
  // text is never read).
  const int64_t total = b.offsets[b.texts];
  std::vector<int32_t> tokenIndex(total), bigramIndex(total, -1);
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto texts = ctx.share(b.texts);
    for (int64_t t = texts.begin; t < texts.end; ++t)
      for (int64_t i = b.offsets[t]; i < b.offsets[t + 1]; ++i) {
        tokenIndex[i] = int32_t(indexOf(g.tokens.rows, b.ids[i]));
        if (i + 1 < b.offsets[t + 1])
          bigramIndex[i] = int32_t(indexOf(g.bigrams.rows, int32_t(bigramBucket(b.ids[i], b.ids[i + 1], s.buckets))));
      }
  });
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    const auto tokenShare = ctx.share(int64_t(g.tokens.rows.size()));
    const auto bigramShare = ctx.share(int64_t(g.bigrams.rows.size()));
    for (int64_t t = 0; t < b.texts; ++t) {
      const float scale = poolingScale(s.pooling, p, b, t);
      const float* gp = gradPooled.data() + t * E;
      for (int64_t i = b.offsets[t]; i < b.offsets[t + 1]; ++i) {
        const int64_t k = tokenIndex[i];
        if (k >= tokenShare.begin && k < tokenShare.end) {
          float* row = g.tokens.grads.data() + k * E;
          const float ws = scale * tokenWeight(p, b, i);
          for (int64_t e = 0; e < E; ++e) row[e] += ws * gp[e];
        }
        const int64_t j = bigramIndex[i];
        if (j >= bigramShare.begin && j < bigramShare.end) {
          float* row = g.bigrams.grads.data() + j * E;
          const float ws = scale * bigramWeight(p, b, i);
          for (int64_t e = 0; e < E; ++e) row[e] += ws * gp[e];
        }
      }
    }
  });
}

}  // namespace infonce
