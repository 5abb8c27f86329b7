// Evaluation kernels: the linear probe of the classification tasks.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value logisticRegression(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
