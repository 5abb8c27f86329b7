// Row operations on row-major tables: normalisation and sparse-row accumulation. Memory-bound.
#include <cmath>
#include <cstring>

#include "infonce_rows.h"

namespace infonce {

void normalizeRows(float* x, int64_t rows, int64_t dim) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * dim;
    double sum = 0;
    for (int64_t d = 0; d < dim; ++d) sum += double(row[d]) * row[d];
    if (sum <= 0) continue;
    const float inverse = float(1.0 / std::sqrt(sum));
    for (int64_t d = 0; d < dim; ++d) row[d] *= inverse;
  }
}

void addRows(float* target, int64_t width, const int32_t* rows, int64_t count, const float* grads) {
  for (int64_t k = 0; k < count; ++k) {
    float* t = target + int64_t(rows ? rows[k] : k) * width;
    const float* g = grads + k * width;
    for (int64_t e = 0; e < width; ++e) t[e] += g[e];
  }
}

void takeRows(const float* source, int64_t width, const int32_t* rows, int64_t count, float* out) {
  for (int64_t k = 0; k < count; ++k) std::memcpy(out + k * width, source + int64_t(rows[k]) * width, sizeof(float) * width);
}

void zeroRows(float* target, int64_t width, const int32_t* rows, int64_t count) {
  for (int64_t k = 0; k < count; ++k) std::memset(target + int64_t(rows[k]) * width, 0, sizeof(float) * width);
}

}  // namespace infonce
