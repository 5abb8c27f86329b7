// The export table of the native addon: one line per function; each group lives in its own file.
#include <napi.h>

#include "cuda_backend.h"
#include "device_tensor.h"
#include "encoder.h"
#include "errors.h"
#include "eval.h"
#include "infonce.h"
#include "info.h"
#include "collectives.h"
#include "distributed.h"
#include "distributed_gpu.h"
#include "nccl.h"
#include "loss.h"
#include "optimizer.h"
#include "owned_tables.h"
#include "rows.h"
#include "search.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace infonce::bindings;
  exports.Set("contrastiveLoss", Napi::Function::New(env, contrastiveLoss, "contrastiveLoss"));
  exports.Set("contrastiveLossSync", Napi::Function::New(env, contrastiveLossSync, "contrastiveLossSync"));
  exports.Set("mpiOpen", Napi::Function::New(env, mpiOpen, "mpiOpen"));
  exports.Set("mpiBytesSent", Napi::Function::New(env, mpiBytesSent, "mpiBytesSent"));
  exports.Set("mpiClose", Napi::Function::New(env, mpiClose, "mpiClose"));
  exports.Set("mpiAllGather", Napi::Function::New(env, mpiAllGather, "mpiAllGather"));
  exports.Set("mpiBroadcast", Napi::Function::New(env, mpiBroadcast, "mpiBroadcast"));
  exports.Set("mpiBarrier", Napi::Function::New(env, mpiBarrier, "mpiBarrier"));
  exports.Set("distributedContrastiveLoss", Napi::Function::New(env, distributedContrastiveLoss, "distributedContrastiveLoss"));
  exports.Set("ncclOpen", Napi::Function::New(env, ncclOpen, "ncclOpen"));
  exports.Set("ncclBytesSent", Napi::Function::New(env, ncclBytesSent, "ncclBytesSent"));
  exports.Set("ncclClose", Napi::Function::New(env, ncclClose, "ncclClose"));
  exports.Set("ncclDistributedContrastiveLoss",
              Napi::Function::New(env, ncclDistributedContrastiveLoss, "ncclDistributedContrastiveLoss"));
  exports.Set("backendInfo", Napi::Function::New(env, backendInfo, "backendInfo"));
  // The loss's parameters, from their one home (infonce.h), so TypeScript and the CLI copy none.
  exports.Set("defaultLogScale", Napi::Number::New(env, infonce::kDefaultLogScale));
  exports.Set("maxLogScale", Napi::Number::New(env, infonce::kMaxLogScale));
  Napi::Array precisions = Napi::Array::New(env);
  for (infonce::Precision p : infonce::kPrecisions) precisions.Set(precisions.Length(), infonce::precisionName(p));
  exports.Set("precisions", precisions);
  Napi::Array errorCodes = Napi::Array::New(env);
  for (infonce::ErrorCode code : infonce::kErrorCodes) errorCodes.Set(errorCodes.Length(), infonce::errorCodeName(code));
  for (const char* code : infonce::bindings::kBindingErrorCodes) errorCodes.Set(errorCodes.Length(), code);
  exports.Set("errorCodes", errorCodes);
  exports.Set("DeviceTensor", DeviceTensor::define(env));
  exports.Set("setCudaLibraryPath", Napi::Function::New(env, setCudaLibraryPath, "setCudaLibraryPath"));
  exports.Set("cudaSelfTest", Napi::Function::New(env, cudaSelfTest, "cudaSelfTest"));
  exports.Set("cudaLaunchPlan", Napi::Function::New(env, cudaLaunchPlan, "cudaLaunchPlan"));
  exports.Set("cudaPanelPlan", Napi::Function::New(env, cudaPanelPlan, "cudaPanelPlan"));
  exports.Set("cudaPanelEmulation", Napi::Function::New(env, cudaPanelEmulation, "cudaPanelEmulation"));
  exports.Set("cudaMainLoopChoice", Napi::Function::New(env, cudaMainLoopChoice, "cudaMainLoopChoice"));
  exports.Set("bagForward", Napi::Function::New(env, bagForward, "bagForward"));
  exports.Set("bagBackward", Napi::Function::New(env, bagBackward, "bagBackward"));
  exports.Set("newTable", Napi::Function::New(env, newTable, "newTable"));
  exports.Set("isOwnedTable", Napi::Function::New(env, isOwnedTable, "isOwnedTable"));
  exports.Set("adamwRows", Napi::Function::New(env, adamwRows, "adamwRows"));
  exports.Set("sumOfSquares", Napi::Function::New(env, sumOfSquares, "sumOfSquares"));
  exports.Set("normalizeRows", Napi::Function::New(env, normalizeRows, "normalizeRows"));
  exports.Set("addRows", Napi::Function::New(env, addRows, "addRows"));
  exports.Set("takeRows", Napi::Function::New(env, takeRows, "takeRows"));
  exports.Set("zeroRows", Napi::Function::New(env, zeroRows, "zeroRows"));
  exports.Set("topK", Napi::Function::New(env, topK, "topK"));
  exports.Set("logisticRegression", Napi::Function::New(env, logisticRegression, "logisticRegression"));
  return exports;
}

}  // namespace

NODE_API_MODULE(infonce, init)
