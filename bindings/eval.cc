#include "eval.h"

#include <memory>
#include <string>
#include <vector>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_eval.h"
#include "owned_copy.h"
#include "worker.h"

namespace infonce::bindings {

// logisticRegression(trainX, trainY, testX, { dim, classes, lambda, iterations, threads? })
//   → Promise<Int32Array> (the predicted class of each test row)
Napi::Value logisticRegression(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(env, info[3], "options", {"dim", "classes", "lambda", "iterations", "threads"});
  const int64_t dim = o.integer("dim", 1, 1 << 20);
  const int64_t classes = o.integer("classes", 2, 1 << 16);
  const double lambda = o.optionalNumber("lambda").value_or(1e-3);
  if (!(lambda >= 0)) throwRangeError(env, "lambda: expected a number >= 0");
  const int iterations = static_cast<int>(o.optionalInteger("iterations", 1, 1 << 20).value_or(300));
  const int threads = static_cast<int>(o.optionalInteger("threads", 1, 1024).value_or(cpuInfo().hardwareThreads));
  for (int a : {0, 2})
    if (!info[a].IsTypedArray() || info[a].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        info[a].As<Napi::Float32Array>().ElementLength() % dim != 0)
      throwTypeError(env, std::string(a == 0 ? "trainX" : "testX") + ": expected a Float32Array of rows × dim, got " + describe(info[a]));
  Napi::Float32Array trainX = info[0].As<Napi::Float32Array>(), testX = info[2].As<Napi::Float32Array>();
  const int64_t n = int64_t(trainX.ElementLength()) / dim, m = int64_t(testX.ElementLength()) / dim;
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      int64_t(info[1].As<Napi::Int32Array>().ElementLength()) != n)
    throwTypeError(env, "trainY: expected an Int32Array of " + std::to_string(n) + " labels");
  // The worker reads copies (owned_copy.h), and the labels are checked on the copy it reads.
  auto ty = std::make_shared<const std::vector<int32_t>>(ownedCopy(env, info[1].As<Napi::Int32Array>(), "trainY"));
  for (int64_t i = 0; i < n; ++i)
    if ((*ty)[i] < 0 || (*ty)[i] >= classes)
      throwRangeError(env, "trainY[" + std::to_string(i) + "]: expected a class in [0, " + std::to_string(classes) + ")");
  Napi::Int32Array predictions = Napi::Int32Array::New(env, size_t(m));
  auto tx = std::make_shared<const std::vector<float>>(ownedCopy(env, trainX, "trainX"));
  auto sx = std::make_shared<const std::vector<float>>(ownedCopy(env, testX, "testX"));
  int32_t* out = predictions.Data();
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(static_cast<Napi::Object>(predictions)));
  return TaskWorker::queue(
      env, "infonce:logisticRegression",
      [=] { infonce::logisticRegression(tx->data(), ty->data(), n, dim, classes, lambda, iterations, sx->data(), m, out, threads); },
      [ref](Napi::Env) { return ref->Value(); }, {predictions});
}

}  // namespace infonce::bindings
