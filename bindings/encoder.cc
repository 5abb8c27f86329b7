#include "encoder.h"

#include <memory>
#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_bag_encoder.h"
#include "owned_copy.h"
#include "owned_tables.h"
#include "worker.h"

namespace infonce::bindings {
namespace {

// (ids, offsets, parameters, shape, threads?): everything a forward or backward needs, checked:
// offsets start at 0, never decrease, give every text an id, end at ids.length; ids index the table.
// The ids and offsets are copied (owned_copy.h) and checked on the copy, which is what the worker
// reads: a caller rewriting batch.ids mid-call cannot make it index outside the tables. The tables
// are read in place when the addon owns their memory (the encoder's, owned_tables.h), else copied.
struct BagCall {
  std::vector<int32_t> ids, offsets;
  std::vector<float> weights;  // per token id (idf pooling), or empty
  BagShape shape;
  BagParameters parameters;
  BagBatch batch;
  int threads = 0;
  TableView tokens, bigrams, projection;  // alive until the call is done
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
  const Options parameters(env, info[2], "parameters", {"tokens", "bigrams", "projection", "weights"});
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
  call.tokens = ownedTable(env, tokens, "parameters.tokens");
  call.bigrams = ownedTable(env, bigrams, "parameters.bigrams");
  call.projection = ownedTable(env, projection, "parameters.projection");
  call.parameters = {call.tokens.data, call.bigrams.data, call.projection.data};
  call.batch = {id, o, texts};
  if (parameters.has("weights") && !parameters.get("weights").IsUndefined()) {
    // Copied and checked on the copy (owned_copy.h): a text's Σ w must never be 0 (a division), nor
    // a weight NaN, whatever the caller writes into its array mid-call.
    call.weights = ownedCopy(env, float32Array(env, parameters.get("weights"), "parameters.weights",
                                               call.shape.vocabulary, "vocabulary"), "parameters.weights");
    for (int64_t v = 0; v < call.shape.vocabulary; ++v)
      if (!(call.weights[v] > 0.0f && call.weights[v] < 1e30f))
        throwRangeError(env, "parameters.weights[" + std::to_string(v) + "]: expected a positive finite weight, got " +
                                 std::to_string(call.weights[v]));
    call.parameters.tokenWeights = call.weights.data();
  }
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
  std::vector<Napi::Value> pins = {pooled, out};
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
      });
}

}  // namespace infonce::bindings
