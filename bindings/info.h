// What this build and this machine offer: CPU features, thread count, backends.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value backendInfo(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
