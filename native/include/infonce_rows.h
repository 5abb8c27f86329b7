// Row operations on row-major float tables: normalisation, and the sparse-row bookkeeping of
// gradient accumulation.
#pragma once

#include <cstdint>

namespace infonce {

// Each row divided by its L2 norm, in place (zero rows stay zero).
void normalizeRows(float* x, int64_t rows, int64_t dim);

// Sparse-row bookkeeping of gradient accumulation: target[rows[k]] += grads[k] (all rows when rows
// is null); out[k] = source[rows[k]]; source[rows[k]] = 0.
void addRows(float* target, int64_t width, const int32_t* rows, int64_t count, const float* grads);
void takeRows(const float* source, int64_t width, const int32_t* rows, int64_t count, float* out);
void zeroRows(float* target, int64_t width, const int32_t* rows, int64_t count);

}  // namespace infonce
