// Exact top-k cosine search.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value topK(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
