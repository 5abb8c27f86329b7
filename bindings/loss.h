// contrastiveLoss (a Promise; the work runs on a worker thread) and contrastiveLossSync.
#pragma once

#include <napi.h>

namespace infonce::bindings {

// log(1/0.07): CLIP's initial temperature, which the cpt paper keeps.
constexpr double kDefaultLogScale = 2.6592600369327779;

Napi::Value contrastiveLoss(const Napi::CallbackInfo& info);
Napi::Value contrastiveLossSync(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
