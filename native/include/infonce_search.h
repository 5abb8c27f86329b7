// Exact top-k cosine search.
#pragma once

#include <cstdint>

namespace infonce {

// For each query, the k corpus rows of largest cosine similarity, best first (ties: lower index).
// Streams the corpus in tiles; never holds queries × corpus. indices/scores: queries × k (−1 / -inf
// where the corpus has fewer than k rows; the bindings clamp k to the corpus).
void topKCosine(const float* queries, int64_t queryCount, const float* corpus, int64_t corpusCount, int64_t dim,
                int64_t k, int32_t* indices, float* scores, int threads);

}  // namespace infonce
