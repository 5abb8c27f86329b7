// The "bag" encoder of the trainer, as the bindings see it: plain C++, no Node. A text is its token
// ids; its embedding is the pooled sum of its tokens' rows and of its hashed token bigrams' rows
// (mean, or sum/√n; optionally weighted per token, e.g. by idf), times a projection W (E×D). Forward and backward work on a batch; the backward
// returns the gradient of the embedding tables as sparse rows (only the rows the batch touched), so
// the vocabulary's size never slows a step.
#pragma once

#include <cstdint>
#include <vector>

namespace infonce {

enum class Pooling { Mean, SqrtN };

struct BagShape {
  int64_t vocabulary = 0;  // rows of the token table
  int64_t buckets = 0;     // rows of the bigram table (hashed)
  int64_t width = 0;       // E: columns of both tables
  int64_t dim = 0;         // D: the output dimension
  Pooling pooling = Pooling::Mean;
};

struct BagParameters {
  const float* tokens = nullptr;   // vocabulary × E
  const float* bigrams = nullptr;  // buckets × E
  const float* projection = nullptr;  // E × D
  // One positive weight per token id (idf pooling), or null: every item weighs 1. A bigram weighs the
  // mean of its two tokens' weights. With weights, pooling divides the weighted sum by Σ w (Mean) or
  // √Σ w (SqrtN) instead of by the item count n or √n. Fixed, not trained.
  const float* tokenWeights = nullptr;
};

// The batch: text t has ids ids[offsets[t] .. offsets[t+1]), at least one each.
struct BagBatch {
  const int32_t* ids = nullptr;
  const int32_t* offsets = nullptr;
  int64_t texts = 0;
};

// The bucket of the bigram (a, b): fixed, so that a saved model means the same after loading.
uint32_t bigramBucket(int32_t a, int32_t b, int64_t buckets);

// pooled: texts × E, out: texts × D.
void bagForward(const BagShape& shape, const BagParameters& p, const BagBatch& batch, float* pooled, float* out,
                int threads);

struct SparseRows {
  std::vector<int32_t> rows;  // ascending, distinct
  std::vector<float> grads;   // rows.size() × E
};

struct BagGradients {
  std::vector<float> projection;  // E × D
  SparseRows tokens, bigrams;
};

// From dL/dout (texts × D) and the forward's pooled rows: dL/dW and the touched table rows' gradients.
void bagBackward(const BagShape& shape, const BagParameters& p, const BagBatch& batch, const float* pooled,
                 const float* gradOut, BagGradients& gradients, int threads);

}  // namespace infonce
