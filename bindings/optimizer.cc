#include "optimizer.h"

#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_optimizer.h"

namespace infonce::bindings {

// adamwRows(table, m, v, width, rows | null, grads, options): in place, synchronous (touched rows only).
Napi::Value adamwRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The options first: their getters run here, before any memory is taken or any row checked.
  const Options o(env, info[6], "options",
                  {"learningRate", "beta1", "beta2", "epsilon", "weightDecay", "step", "gradientScale", "threads"});
  AdamW step;
  step.learningRate = o.optionalNumber("learningRate").value_or(step.learningRate);
  step.beta1 = o.optionalNumber("beta1").value_or(step.beta1);
  step.beta2 = o.optionalNumber("beta2").value_or(step.beta2);
  step.epsilon = o.optionalNumber("epsilon").value_or(step.epsilon);
  step.weightDecay = o.optionalNumber("weightDecay").value_or(step.weightDecay);
  step.step = o.optionalInteger("step", 1, int64_t(1) << 53).value_or(1);
  step.gradientScale = o.optionalNumber("gradientScale").value_or(1.0);
  const int threads = static_cast<int>(o.optionalInteger("threads", 1, 1024).value_or(cpuInfo().hardwareThreads));
  Napi::Float32Array table = anyFloat32Array(env, info[0], "table");
  const int64_t size = int64_t(table.ElementLength());
  Napi::Float32Array m = float32Array(env, info[1], "m", size, "table.length");
  Napi::Float32Array v = float32Array(env, info[2], "v", size, "table.length");
  if (!info[3].IsNumber()) throwTypeError(env, "width: expected an integer, got " + describe(info[3]));
  const int64_t width = info[3].As<Napi::Number>().Int64Value();
  if (width < 1 || size % width != 0)
    throwRangeError(env, "width: expected a divisor of table.length = " + std::to_string(size) + ", got " + std::to_string(width));
  const int32_t* rows = nullptr;
  int64_t count = size / width;
  if (!info[4].IsNull() && !info[4].IsUndefined()) {
    Napi::Int32Array r = anyInt32Array(env, info[4], "rows");
    rows = r.Data();
    count = int64_t(r.ElementLength());
    for (int64_t k = 0; k < count; ++k)
      if (rows[k] < 0 || rows[k] >= size / width)
        throwRangeError(env, "rows[" + std::to_string(k) + "]: expected a row in [0, " + std::to_string(size / width) +
                                 "), got " + std::to_string(rows[k]));
  }
  Napi::Float32Array grads = float32Array(env, info[5], "grads", count * width, "rows × width");
  infonce::adamwRows(step, table.Data(), m.Data(), v.Data(), width, rows, count, grads.Data(), threads);
  return env.Undefined();
}

Napi::Value sumOfSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = anyFloat32Array(env, info[0], "x");
  return Napi::Number::New(env, infonce::sumOfSquares(x.Data(), int64_t(x.ElementLength())));
}

}  // namespace infonce::bindings
