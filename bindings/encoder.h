// The bag encoder's kernels: forward and backward, asynchronous.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value bagForward(const Napi::CallbackInfo& info);
Napi::Value bagBackward(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
