// The export table of the native addon: one line per function; each group lives in its own file.
#include <napi.h>

#include "cuda.h"
#include "device_tensor.h"
#include "info.h"
#include "loss.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace infonce::bindings;
  exports.Set("contrastiveLoss", Napi::Function::New(env, contrastiveLoss, "contrastiveLoss"));
  exports.Set("contrastiveLossSync", Napi::Function::New(env, contrastiveLossSync, "contrastiveLossSync"));
  exports.Set("backendInfo", Napi::Function::New(env, backendInfo, "backendInfo"));
  exports.Set("defaultLogScale", Napi::Number::New(env, kDefaultLogScale));
  exports.Set("DeviceTensor", DeviceTensor::define(env));
  exports.Set("setCudaLibraryPath", Napi::Function::New(env, setCudaLibraryPath, "setCudaLibraryPath"));
  exports.Set("cudaSelfTest", Napi::Function::New(env, cudaSelfTest, "cudaSelfTest"));
  exports.Set("cudaLaunchPlan", Napi::Function::New(env, cudaLaunchPlan, "cudaLaunchPlan"));
  return exports;
}

}  // namespace

NODE_API_MODULE(infonce, init)
