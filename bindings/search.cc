#include "search.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_search.h"
#include "owned_copy.h"
#include "worker.h"

namespace infonce::bindings {

// The most results (an index and a score each: 8 bytes) one search returns: 2^27, 1 GiB.
constexpr int64_t kMaxResults = int64_t(1) << 27;

// topK(queries, corpus, { dim, k, threads? }) → Promise<{ indices, scores, k }>: k is clamped to the
// corpus size (it is the stride of indices and scores), and a result of more than kMaxResults
// entries (queries × k) is refused before anything is allocated: one call, however its arguments are
// chosen, never asks for more than 1 GiB of results.
Napi::Value topK(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(env, info[2], "options", {"dim", "k", "threads"});
  const int64_t dim = o.integer("dim", 1, 1 << 20);
  const int64_t requestedK = o.integer("k", 1, 1 << 20);
  const int threads = static_cast<int>(o.optionalInteger("threads", 1, 1024).value_or(0));
  for (int a = 0; a < 2; ++a)
    if (!info[a].IsTypedArray() || info[a].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throwTypeError(env, std::string(a == 0 ? "queries" : "corpus") + ": expected a Float32Array, got " + describe(info[a]));
  Napi::Float32Array queries = info[0].As<Napi::Float32Array>();
  Napi::Float32Array corpus = info[1].As<Napi::Float32Array>();
  for (auto [array, name] : {std::pair{queries, "queries"}, std::pair{corpus, "corpus"}})
    if (array.ElementLength() % dim != 0)
      throwRangeError(env, std::string(name) + ": expected a multiple of dim = " + std::to_string(dim) +
                               " elements (rows × dim), got " + std::to_string(array.ElementLength()));
  const int64_t queryCount = int64_t(queries.ElementLength()) / dim, corpusCount = int64_t(corpus.ElementLength()) / dim;
  const int64_t k = std::max<int64_t>(1, std::min(requestedK, corpusCount));
  if (queryCount * k > kMaxResults)
    throwRangeError(env, "k: queries × k = " + std::to_string(queryCount) + " × " + std::to_string(k) + " = " +
                             std::to_string(queryCount * k) + " results (" + std::to_string(queryCount * k * 8) +
                             " bytes) is more than one call returns (" + std::to_string(kMaxResults) +
                             "); ask for a smaller k or search the queries in parts");
  Napi::Int32Array indices = Napi::Int32Array::New(env, size_t(queryCount * k));
  Napi::Float32Array scores = Napi::Float32Array::New(env, size_t(queryCount * k));
  auto q = std::make_shared<const std::vector<float>>(ownedCopy(env, queries, "queries"));
  auto c = std::make_shared<const std::vector<float>>(ownedCopy(env, corpus, "corpus"));
  int32_t* idx = indices.Data();
  float* sc = scores.Data();
  auto indicesRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(static_cast<Napi::Object>(indices)));
  auto scoresRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(static_cast<Napi::Object>(scores)));
  return TaskWorker::queue(
      env, "infonce:topK",
      [=] { topKCosine(q->data(), queryCount, c->data(), corpusCount, dim, k, idx, sc, threads > 0 ? threads : cpuInfo().hardwareThreads); },
      [indicesRef, scoresRef, k](Napi::Env env) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("indices", indicesRef->Value());
        result.Set("scores", scoresRef->Value());
        result.Set("k", double(k));
        return static_cast<Napi::Value>(result);
      },
      {indices, scores});
}

}  // namespace infonce::bindings
