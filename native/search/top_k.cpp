// Exact top-k cosine search: for each query, the k corpus rows of largest cosine similarity.
//
// FLOPs 2·Q·C·D (the similarities) + O(Q·C·log k) (the heaps). Bytes: the corpus once per block of
// queries; never a Q×C matrix: the corpus streams in tiles of kTile rows, whose scores against a
// block of queries (kQueryBlock × kTile floats) feed one bounded heap per query. Threads own query
// blocks, so each heap has one owner and the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../cpu/aligned_buffer.h"
#include "../cpu/thread_pool.h"
#include "../cpu/tile_kernels.h"
#include "infonce.h"
#include "infonce_search.h"

namespace infonce {
namespace {

constexpr int64_t kTile = 512;       // a multiple of every micro-tile's width
constexpr int64_t kQueryBlock = 48;  // a multiple of every micro-tile's height

int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

struct Hit {
  float score;
  int32_t index;
};

// Better: higher score, then lower index (so ties resolve the same way every time).
bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.index < b.index); }

// 1/‖row‖ of every row (0 for a zero row). A NaN or ±Inf would make scores unordered (a heap of
// NaNs keeps arbitrary hits), so the first non-finite value is an error naming its place.
std::vector<float> inverseNorms(const float* m, int64_t rows, int64_t dim, const char* name) {
  std::vector<float> inv(rows);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t d = 0; d < dim; ++d) sum += double(m[r * dim + d]) * m[r * dim + d];
    if (!std::isfinite(sum)) {  // finite squares never overflow a double: NaN or ±Inf is in this row
      int64_t column = 0;
      while (column < dim && std::isfinite(m[r * dim + column])) ++column;
      const float v = m[r * dim + column];
      throw Error(ErrorCode::InvalidArgument, std::string(name) + ": expected finite values, got " +
                                                  (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) +
                                                  " at row " + std::to_string(r) + ", column " + std::to_string(column));
    }
    inv[r] = sum > 0 ? float(1.0 / std::sqrt(sum)) : 0.0f;
  }
  return inv;
}

}  // namespace

void topKCosine(const float* queries, int64_t queryCount, const float* corpus, int64_t corpusCount, int64_t dim,
                int64_t k, int32_t* indices, float* scores, int threads) {
  const std::vector<float> queryInv = inverseNorms(queries, queryCount, dim, "queries");
  const std::vector<float> corpusInv = inverseNorms(corpus, corpusCount, dim, "corpus");
  const int64_t blocks = (queryCount + kQueryBlock - 1) / kQueryBlock;
  // The similarities of a query block and a corpus tile are one small matrix product, on the same
  // packed-panel micro-kernels as the loss (normalisation folded into the packing).
  const cpu::TileKernels& kernels = cpu::selectTileKernels(CpuIsa::Auto);
  const cpu::ProductKernels& product = kernels.fp32;
  const int64_t ld = roundUp(kTile, kernels.microCols);
  cpu::parallelRun(threads, [&](const cpu::ParallelContext& ctx) {
    cpu::AlignedBuffer tile(roundUp(kQueryBlock, kernels.microRows) * ld);
    cpu::AlignedBuffer queryPanels(roundUp(kQueryBlock, kernels.microRows) * dim);
    cpu::AlignedBuffer corpusPanels(ld * dim);
    std::vector<std::vector<Hit>> heaps(kQueryBlock);
    for (int64_t block = ctx.thread(); block < blocks; block += ctx.threads()) {
      const int64_t q0 = block * kQueryBlock, qn = std::min(kQueryBlock, queryCount - q0);
      for (auto& h : heaps) h.clear();
      product.packAcrossDepth(queries + q0 * dim, dim, qn, dim, queryInv.data() + q0, 1.0f, kernels.microRows,
                              queryPanels.get());
      for (int64_t c0 = 0; c0 < corpusCount; c0 += kTile) {
        const int64_t cn = std::min(kTile, corpusCount - c0);
        product.packAcrossDepth(corpus + c0 * dim, dim, cn, dim, corpusInv.data() + c0, 1.0f, kernels.microCols,
                                corpusPanels.get());
        product.multiplyPacked(queryPanels.get(), corpusPanels.get(), roundUp(qn, kernels.microRows),
                               roundUp(cn, kernels.microCols), dim, tile.get(), ld, false);
        for (int64_t q = 0; q < qn; ++q) {
          auto& heap = heaps[q];  // a min-heap on `better`: the worst kept hit on top
          for (int64_t c = 0; c < cn; ++c) {
            const Hit hit{tile.get()[q * ld + c], int32_t(c0 + c)};
            if (int64_t(heap.size()) < k) {
              heap.push_back(hit);
              std::push_heap(heap.begin(), heap.end(), better);
            } else if (better(hit, heap.front())) {
              std::pop_heap(heap.begin(), heap.end(), better);
              heap.back() = hit;
              std::push_heap(heap.begin(), heap.end(), better);
            }
          }
        }
      }
      for (int64_t q = 0; q < qn; ++q) {
        auto& heap = heaps[q];
        std::sort(heap.begin(), heap.end(), better);
        for (int64_t r = 0; r < k; ++r) {
          const bool real = r < int64_t(heap.size());
          indices[(q0 + q) * k + r] = real ? heap[r].index : -1;
          scores[(q0 + q) * k + r] = real ? heap[r].score : -std::numeric_limits<float>::infinity();
        }
      }
    }
  });
}

}  // namespace infonce
