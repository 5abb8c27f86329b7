// Evaluation kernels: the linear probe of the classification tasks.
#pragma once

#include <cstdint>

namespace infonce {

// Multinomial logistic regression with L2 penalty λ on the weights, trained by full-batch Adam for
// `iterations` steps on (trainX: n × dim, trainY in [0, classes)); writes the predicted class of each
// of the m rows of testX.
void logisticRegression(const float* trainX, const int32_t* trainY, int64_t n, int64_t dim, int64_t classes,
                        double lambda, int iterations, const float* testX, int64_t m, int32_t* predictions,
                        int threads);

}  // namespace infonce
