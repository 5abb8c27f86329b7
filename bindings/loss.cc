#include "loss.h"

#include <cmath>
#include <new>
#include <optional>
#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"

namespace infonce::bindings {
namespace {

enum class Algorithm { Fused, Naive };
enum class Device { Cpu, Cuda, Auto };

// One call, parsed: the problem for the core, and the JS arrays it points into, pinned until the
// call is over so that the garbage collector cannot free them under a worker thread.
struct LossCall {
  LossProblem problem;
  Algorithm algorithm = Algorithm::Fused;
  Device device = Device::Auto;
  Napi::ObjectReference x, y, targets, gradX, gradY;
  float* gradXData = nullptr;  // gradX's memory, for the worker thread (which may not touch JS values)
  float* gradYData = nullptr;
};

LossCall parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, "x: expected a Float32Array (rows × dim, row-major), got " + describe(info[0]));
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, "y: expected a Float32Array (cols × dim, row-major), got " + describe(info[1]));
  const Options options(env, info[2], "options",
                        {"rows", "cols", "dim", "logScale", "symmetric", "targets", "device", "threads", "algorithm",
                         "isa"});
  constexpr int64_t kMaxRows = 2147483647;
  LossCall call;
  LossProblem& p = call.problem;
  p.rows = options.integer("rows", 1, kMaxRows);
  p.dim = options.integer("dim", 1, kMaxRows);
  p.cols = options.optionalInteger("cols", 1, kMaxRows).value_or(p.rows);
  if (p.cols < p.rows)
    throwRangeError(env, "cols: expected at least rows = " + std::to_string(p.rows) +
                             " (every query's positive is among the documents), got " + std::to_string(p.cols));
  Napi::Float32Array x = float32Array(env, info[0], "x", p.rows * p.dim, "rows × dim = " + std::to_string(p.rows) +
                                                                              " × " + std::to_string(p.dim));
  Napi::Float32Array y = float32Array(env, info[1], "y", p.cols * p.dim, "cols × dim = " + std::to_string(p.cols) +
                                                                              " × " + std::to_string(p.dim));
  p.x = x.Data();
  p.y = y.Data();
  call.x = Napi::Persistent(static_cast<Napi::Object>(x));
  call.y = Napi::Persistent(static_cast<Napi::Object>(y));
  p.logScale = options.optionalNumber("logScale").value_or(kDefaultLogScale);
  p.symmetric = options.optionalBoolean("symmetric").value_or(true);
  if (options.has("targets")) {
    Napi::Int32Array targets = int32Array(env, options.get("targets"), "targets", p.rows, "rows");
    p.targets = targets.Data();
    call.targets = Napi::Persistent(static_cast<Napi::Object>(targets));
  }
  p.threads = static_cast<int>(options.optionalInteger("threads", 1, 1024).value_or(0));
  const std::string device = options.optionalChoice("device", {"cpu", "cuda", "auto"}).value_or("auto");
  call.device = device == "cpu" ? Device::Cpu : device == "cuda" ? Device::Cuda : Device::Auto;
  call.algorithm = options.optionalChoice("algorithm", {"fused", "naive"}).value_or("fused") == "naive"
                       ? Algorithm::Naive
                       : Algorithm::Fused;
  const std::string isa = options.optionalChoice("isa", {"auto", "avx512", "avx2", "portable"}).value_or("auto");
  p.isa = isa == "avx512" ? CpuIsa::Avx512 : isa == "avx2" ? CpuIsa::Avx2 : isa == "portable" ? CpuIsa::Portable : CpuIsa::Auto;
  if (!cpuIsaSupported(p.isa)) throwRangeError(env, "isa: this CPU does not support '" + isa + "'");
  if (call.device == Device::Cuda)
    throw toJsError(env, Error(ErrorCode::CudaNotBuilt,
                               "device 'cuda': this build of infonce has no CUDA backend; use device 'cpu' or 'auto'"));
  try {
    validateProblem(p);  // targets distinct and in range, logScale in range: before any work is queued
  } catch (const Error& e) {
    throw toJsError(env, e);
  }

  Napi::Float32Array gradX = Napi::Float32Array::New(env, static_cast<size_t>(p.rows * p.dim));
  Napi::Float32Array gradY = Napi::Float32Array::New(env, static_cast<size_t>(p.cols * p.dim));
  call.gradX = Napi::Persistent(static_cast<Napi::Object>(gradX));
  call.gradY = Napi::Persistent(static_cast<Napi::Object>(gradY));
  call.gradXData = gradX.Data();
  call.gradYData = gradY.Data();
  return call;
}

// Runs the kernel on plain memory (safe off the main thread); core errors pass through as
// infonce::Error, anything else becomes one.
void execute(const LossCall& call, LossResult& result) {
  result.gradX = call.gradXData;
  result.gradY = call.gradYData;
  try {
    if (call.algorithm == Algorithm::Naive) contrastiveLossCpuNaive(call.problem, result);
    else contrastiveLossCpuFused(call.problem, result);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory, "out of host memory");
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Internal, e.what());
  }
}

Napi::Object toJs(Napi::Env env, const LossCall& call, const LossResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", r.loss);
  out.Set("gradX", call.gradX.Value());
  out.Set("gradY", call.gradY.Value());
  out.Set("gradLogScale", r.gradLogScale);
  Napi::Object accuracy = Napi::Object::New(env);
  accuracy.Set("row", r.accuracyRow);
  accuracy.Set("col", r.accuracyCol);
  out.Set("accuracy", accuracy);
  out.Set("meanPositiveLogit", r.meanPositiveLogit);
  out.Set("meanLogSumExp", r.meanRowLogSumExp);
  return out;
}

class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(Napi::Env env, LossCall&& call)
      : Napi::AsyncWorker(env, "infonce:contrastiveLoss"), deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      execute(call_, result_);
    } catch (const Error& e) {
      error_.emplace(e);
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(toJs(Env(), call_, result_)); }
  void OnError(const Napi::Error&) override { deferred_.Reject(toJsError(Env(), *error_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  LossCall call_;
  LossResult result_;
  std::optional<Error> error_;
};

}  // namespace

Napi::Value contrastiveLossSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossCall call = parse(info);
  LossResult result;
  try {
    execute(call, result);
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  return toJs(env, call, result);
}

Napi::Value contrastiveLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker = new LossWorker(env, parse(info));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace infonce::bindings
