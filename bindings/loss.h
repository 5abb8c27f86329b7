// contrastiveLoss (a Promise; the work runs on a worker thread) and contrastiveLossSync.
#pragma once

#include <napi.h>

#include "infonce.h"

namespace infonce::bindings {

Napi::Value contrastiveLoss(const Napi::CallbackInfo& info);

// The JavaScript result of a loss call: { loss, gradX, gradY, gradLogScale, accuracy, mean logits, backend }.
Napi::Object lossResultObject(Napi::Env env, const LossResult& result, Napi::Value gradX, Napi::Value gradY,
                              const char* backend);
Napi::Value contrastiveLossSync(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
