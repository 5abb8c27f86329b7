// The encoder, optimiser and search kernels as the bindings see them: plain C++, no Node.
//
// The "bag" encoder of the trainer: a text is its token ids; its embedding is the pooled sum of its
// tokens' rows and of its hashed token bigrams' rows (mean, or sum/√n), times a projection W (E×D).
// Forward and backward work on a batch; the backward returns the gradient of the embedding tables
// as sparse rows (only the rows the batch touched), so the vocabulary's size never slows a step.
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

// AdamW (decoupled weight decay) on the listed rows of a table (all rows when rows is null), with
// the bias corrections of step `step` (1-based). m and v have the table's shape.
struct AdamW {
  double learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01;
  int64_t step = 1;
  double gradientScale = 1;  // multiplies every gradient first (clipping)
};
void adamwRows(const AdamW& o, float* table, float* m, float* v, int64_t width, const int32_t* rows, int64_t count,
               const float* grads, int threads);

// Σ x² in double (for the global gradient norm of clipping).
double sumOfSquares(const float* x, int64_t n);

// Each row divided by its L2 norm, in place (zero rows stay zero).
void normalizeRows(float* x, int64_t rows, int64_t dim);

// Sparse-row bookkeeping of gradient accumulation: target[rows[k]] += grads[k] (all rows when rows
// is null); out[k] = source[rows[k]]; source[rows[k]] = 0.
void addRows(float* target, int64_t width, const int32_t* rows, int64_t count, const float* grads);
void takeRows(const float* source, int64_t width, const int32_t* rows, int64_t count, float* out);
void zeroRows(float* target, int64_t width, const int32_t* rows, int64_t count);

// Multinomial logistic regression with L2 penalty λ on the weights, trained by full-batch Adam for
// `iterations` steps on (trainX: n × dim, trainY in [0, classes)); writes the predicted class of each
// of the m rows of testX.
void logisticRegression(const float* trainX, const int32_t* trainY, int64_t n, int64_t dim, int64_t classes,
                        double lambda, int iterations, const float* testX, int64_t m, int32_t* predictions,
                        int threads);

// For each query, the k corpus rows of largest cosine similarity, best first (ties: lower index).
// Streams the corpus in tiles; never holds queries × corpus. indices/scores: queries × k (−1 / -inf
// where the corpus has fewer than k rows).
void topKCosine(const float* queries, int64_t queryCount, const float* corpus, int64_t corpusCount, int64_t dim,
                int64_t k, int32_t* indices, float* scores, int threads);

}  // namespace infonce
