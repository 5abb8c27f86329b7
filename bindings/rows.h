// Row operations on Float32Array tables: normalisation and sparse-row accumulation, synchronous.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value normalizeRows(const Napi::CallbackInfo& info);
Napi::Value addRows(const Napi::CallbackInfo& info);
Napi::Value takeRows(const Napi::CallbackInfo& info);
Napi::Value zeroRows(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
