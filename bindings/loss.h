// contrastiveLoss (a Promise; the work runs on a worker thread) and contrastiveLossSync.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value contrastiveLoss(const Napi::CallbackInfo& info);
Napi::Value contrastiveLossSync(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
