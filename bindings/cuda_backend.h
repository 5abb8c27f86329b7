// The CUDA backend's management functions: where to find it, its self-test, and (for the tests on
// machines without a GPU) the launch plan it would use, the panel schedule, and the host emulation of
// the panel gradient pass.
#pragma once

#include <napi.h>

namespace infonce::bindings {

Napi::Value setCudaLibraryPath(const Napi::CallbackInfo& info);
Napi::Value cudaSelfTest(const Napi::CallbackInfo& info);
Napi::Value cudaLaunchPlan(const Napi::CallbackInfo& info);
Napi::Value cudaPanelPlan(const Napi::CallbackInfo& info);
Napi::Value cudaPanelEmulation(const Napi::CallbackInfo& info);
Napi::Value cudaMainLoopChoice(const Napi::CallbackInfo& info);

}  // namespace infonce::bindings
