// Matryoshka (nested) prefixes, what the CPU kernels share: the per-prefix norms the fused kernel
// rescales its one product with, the prefix-by-prefix loss the naive kernel computes (k calls on
// copies of the prefixes: the baseline the fused kernel is measured against), and the assembly of a
// result from the prefixes' own results.
#pragma once

#include <cstdint>
#include <vector>

#include "infonce.h"

namespace infonce::cpu {

// ‖m[r, :dims[k]]‖ for every prefix k and row r (prefix-major: [k·rows + r]); reads m once.
std::vector<double> prefixNorms(const float* m, int64_t rows, int64_t dim, const int64_t* dims, int count,
                                int threads);

// result.loss = Σ weight·loss, result.prefixes, and the accuracies and mean logits of the largest
// prefix, from each prefix's own result (perPrefix[k], in the order of the dims).
void combinePrefixes(const LossProblem& problem, const std::vector<LossResult>& perPrefix, LossResult& result);

// The loss of every prefix by its own call of `kernel` on a copy of the prefix columns, the gradients
// weighted and added into result.gradX/gradY (zero beyond the last prefix).
void matryoshkaBySeparateCalls(const LossProblem& problem, LossResult& result,
                               void (*kernel)(const LossProblem&, LossResult&));

}  // namespace infonce::cpu
