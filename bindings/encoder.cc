#include "encoder.h"

#include <memory>
#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_encoder.h"
#include "owned_copy.h"
#include "worker.h"

namespace infonce::bindings {
namespace {

Napi::Float32Array anyFloat32Array(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, std::string(name) + ": expected a Float32Array, got " + describe(value));
  return value.As<Napi::Float32Array>();
}

Napi::Int32Array anyInt32Array(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throwTypeError(env, std::string(name) + ": expected an Int32Array, got " + describe(value));
  return value.As<Napi::Int32Array>();
}

// (ids, offsets, parameters, shape, threads?): everything a forward or backward needs, checked:
// offsets start at 0, never decrease, give every text an id, end at ids.length; ids index the table.
// The ids and offsets are copied (owned_copy.h) and checked on the copy, which is what the worker
// reads: a caller rewriting batch.ids mid-call cannot make it index outside the tables.
struct BagCall {
  std::vector<int32_t> ids, offsets;
  BagShape shape;
  BagParameters parameters;
  BagBatch batch;
  int threads = 0;
  std::vector<Napi::Value> pins;
};

BagCall parseBag(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BagCall call;
  call.ids = ownedCopy(env, anyInt32Array(env, info[0], "ids"), "ids");
  call.offsets = ownedCopy(env, anyInt32Array(env, info[1], "offsets"), "offsets");
  const Options shape(env, info[3], "shape", {"vocabulary", "buckets", "width", "dim", "pooling", "threads"});
  call.shape.vocabulary = shape.integer("vocabulary", 1, int64_t(1) << 31);
  call.shape.buckets = shape.integer("buckets", 1, int64_t(1) << 31);
  call.shape.width = shape.integer("width", 1, 1 << 16);
  call.shape.dim = shape.integer("dim", 1, 1 << 16);
  call.shape.pooling = shape.optionalChoice("pooling", {"mean", "sqrt"}).value_or("mean") == "sqrt" ? Pooling::SqrtN : Pooling::Mean;
  call.threads = static_cast<int>(shape.optionalInteger("threads", 1, 1024).value_or(cpuInfo().hardwareThreads));
  const Options parameters(env, info[2], "parameters", {"tokens", "bigrams", "projection"});
  Napi::Float32Array tokens = float32Array(env, parameters.get("tokens"), "parameters.tokens",
                                           call.shape.vocabulary * call.shape.width, "vocabulary × width");
  Napi::Float32Array bigrams = float32Array(env, parameters.get("bigrams"), "parameters.bigrams",
                                            call.shape.buckets * call.shape.width, "buckets × width");
  Napi::Float32Array projection = float32Array(env, parameters.get("projection"), "parameters.projection",
                                               call.shape.width * call.shape.dim, "width × dim");
  const int64_t texts = int64_t(call.offsets.size()) - 1;
  if (texts < 1) throwRangeError(env, "offsets: expected at least 2 entries (texts + 1), got " + std::to_string(call.offsets.size()));
  const int32_t* o = call.offsets.data();
  if (o[0] != 0) throwRangeError(env, "offsets[0]: expected 0, got " + std::to_string(o[0]));
  for (int64_t t = 0; t < texts; ++t)
    if (o[t + 1] <= o[t])
      throwRangeError(env, "offsets[" + std::to_string(t + 1) + "]: expected more than offsets[" + std::to_string(t) +
                               "] = " + std::to_string(o[t]) + " (every text needs at least one id), got " +
                               std::to_string(o[t + 1]));
  if (o[texts] != int64_t(call.ids.size()))
    throwRangeError(env, "offsets: the last entry must be ids.length = " + std::to_string(call.ids.size()) +
                             ", got " + std::to_string(o[texts]));
  const int32_t* id = call.ids.data();
  for (int64_t i = 0; i < int64_t(call.ids.size()); ++i)
    if (id[i] < 0 || id[i] >= call.shape.vocabulary)
      throwRangeError(env, "ids[" + std::to_string(i) + "]: expected a token id in [0, " +
                               std::to_string(call.shape.vocabulary) + "), got " + std::to_string(id[i]));
  call.parameters = {tokens.Data(), bigrams.Data(), projection.Data()};
  call.batch = {id, o, texts};
  call.pins = {tokens, bigrams, projection};
  return call;
}

Napi::Float32Array copyOut(Napi::Env env, const std::vector<float>& v) {
  Napi::Float32Array out = Napi::Float32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), out.Data());
  return out;
}

Napi::Int32Array copyOut(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Int32Array out = Napi::Int32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), out.Data());
  return out;
}

}  // namespace

// bagForward(ids, offsets, parameters, shape) → Promise<{ pooled: texts × width, out: texts × dim }>
Napi::Value bagForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<BagCall>(parseBag(info));
  const int64_t texts = call->batch.texts;
  Napi::Float32Array pooled = Napi::Float32Array::New(env, size_t(texts * call->shape.width));
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(texts * call->shape.dim));
  float* pooledData = pooled.Data();
  float* outData = out.Data();
  auto pins = call->pins;
  pins.push_back(pooled);
  pins.push_back(out);
  auto pooledRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(static_cast<Napi::Object>(pooled)));
  auto outRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(static_cast<Napi::Object>(out)));
  return TaskWorker::queue(
      env, "infonce:bagForward",
      [call, pooledData, outData] { infonce::bagForward(call->shape, call->parameters, call->batch, pooledData, outData, call->threads); },
      [pooledRef, outRef](Napi::Env env) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("pooled", pooledRef->Value());
        result.Set("out", outRef->Value());
        return static_cast<Napi::Value>(result);
      },
      pins);
}

// bagBackward(ids, offsets, parameters, shape, pooled, gradOut) → Promise<{ projection, tokenRows,
// tokenGrads, bigramRows, bigramGrads }>
Napi::Value bagBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<BagCall>(parseBag(info));
  const int64_t texts = call->batch.texts;
  Napi::Float32Array pooled = float32Array(env, info[4], "pooled", texts * call->shape.width, "texts × width");
  Napi::Float32Array gradOut = float32Array(env, info[5], "gradOut", texts * call->shape.dim, "texts × dim");
  auto gradients = std::make_shared<BagGradients>();
  auto pooledCopy = std::make_shared<const std::vector<float>>(ownedCopy(env, pooled, "pooled"));
  auto gradCopy = std::make_shared<const std::vector<float>>(ownedCopy(env, gradOut, "gradOut"));
  auto pins = call->pins;
  return TaskWorker::queue(
      env, "infonce:bagBackward",
      [call, gradients, pooledCopy, gradCopy] {
        infonce::bagBackward(call->shape, call->parameters, call->batch, pooledCopy->data(), gradCopy->data(),
                             *gradients, call->threads);
      },
      [gradients](Napi::Env env) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("projection", copyOut(env, gradients->projection));
        result.Set("tokenRows", copyOut(env, gradients->tokens.rows));
        result.Set("tokenGrads", copyOut(env, gradients->tokens.grads));
        result.Set("bigramRows", copyOut(env, gradients->bigrams.rows));
        result.Set("bigramGrads", copyOut(env, gradients->bigrams.grads));
        return static_cast<Napi::Value>(result);
      },
      pins);
}

// adamwRows(table, m, v, width, rows | null, grads, options): in place, synchronous (touched rows only).
Napi::Value adamwRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
  infonce::adamwRows(step, table.Data(), m.Data(), v.Data(), width, rows, count, grads.Data(), threads);
  return env.Undefined();
}

namespace {

// (target, width, rows | null): the table and the rows an operation touches, checked.
struct RowsCall {
  Napi::Float32Array table;
  int64_t width = 0, count = 0;
  const int32_t* rows = nullptr;
};

RowsCall parseRows(Napi::Env env, const Napi::CallbackInfo& info) {
  RowsCall call;
  call.table = anyFloat32Array(env, info[0], "table");
  if (!info[1].IsNumber()) throwTypeError(env, "width: expected an integer, got " + describe(info[1]));
  call.width = info[1].As<Napi::Number>().Int64Value();
  const int64_t size = int64_t(call.table.ElementLength());
  if (call.width < 1 || size % call.width != 0)
    throwRangeError(env, "width: expected a divisor of table.length = " + std::to_string(size) + ", got " + std::to_string(call.width));
  call.count = size / call.width;
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    Napi::Int32Array rows = anyInt32Array(env, info[2], "rows");
    call.rows = rows.Data();
    const int64_t tableRows = call.count;
    call.count = int64_t(rows.ElementLength());
    for (int64_t k = 0; k < call.count; ++k)
      if (call.rows[k] < 0 || call.rows[k] >= tableRows)
        throwRangeError(env, "rows[" + std::to_string(k) + "]: expected a row in [0, " + std::to_string(tableRows) +
                                 "), got " + std::to_string(call.rows[k]));
  }
  return call;
}

}  // namespace

// addRows(table, width, rows | null, grads): table[rows[k]] += grads[k].
Napi::Value addRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  Napi::Float32Array grads = float32Array(env, info[3], "grads", c.count * c.width, "rows × width");
  infonce::addRows(c.table.Data(), c.width, c.rows, c.count, grads.Data());
  return env.Undefined();
}

// takeRows(table, width, rows) → the rows, copied; zeroRows(table, width, rows) clears them.
Napi::Value takeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  if (!c.rows) throwTypeError(env, "rows: expected an Int32Array, got " + describe(info[2]));
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(c.count * c.width));
  infonce::takeRows(c.table.Data(), c.width, c.rows, c.count, out.Data());
  return out;
}

Napi::Value zeroRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  if (!c.rows) throwTypeError(env, "rows: expected an Int32Array, got " + describe(info[2]));
  infonce::zeroRows(c.table.Data(), c.width, c.rows, c.count);
  return env.Undefined();
}

// normalizeRows(x, dim): each row of x divided by its L2 norm, in place (zero rows stay zero).
Napi::Value normalizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = anyFloat32Array(env, info[0], "x");
  if (!info[1].IsNumber()) throwTypeError(env, "dim: expected an integer, got " + describe(info[1]));
  const int64_t dim = info[1].As<Napi::Number>().Int64Value();
  if (dim < 1 || int64_t(x.ElementLength()) % dim != 0)
    throwRangeError(env, "dim: expected a divisor of x.length = " + std::to_string(x.ElementLength()) + ", got " + std::to_string(dim));
  infonce::normalizeRows(x.Data(), int64_t(x.ElementLength()) / dim, dim);
  return env.Undefined();
}

Napi::Value sumOfSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = anyFloat32Array(env, info[0], "x");
  return Napi::Number::New(env, infonce::sumOfSquares(x.Data(), int64_t(x.ElementLength())));
}

}  // namespace infonce::bindings
