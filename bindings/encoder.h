// The bag encoder's kernels (forward, backward), the AdamW step and the gradient norm.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value bagForward(const Napi::CallbackInfo& info);
Napi::Value bagBackward(const Napi::CallbackInfo& info);
Napi::Value adamwRows(const Napi::CallbackInfo& info);
Napi::Value sumOfSquares(const Napi::CallbackInfo& info);
Napi::Value normalizeRows(const Napi::CallbackInfo& info);
Napi::Value addRows(const Napi::CallbackInfo& info);
Napi::Value takeRows(const Napi::CallbackInfo& info);
Napi::Value zeroRows(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
