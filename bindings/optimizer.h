// The trainer's optimiser step (AdamW on sparse rows) and the squared gradient norm of clipping.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value adamwRows(const Napi::CallbackInfo& info);
Napi::Value sumOfSquares(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
