// The communicator's collectives for JavaScript (what data-parallel training exchanges besides the
// loss: gradients, checksums, a stop flag, rank 0's parameters): an all-gather of typed arrays of
// any length, a broadcast in place, a barrier. Each runs on a worker thread, so a rank waiting for
// a slower one never blocks its event loop, and each first exchanges every rank's element kind and
// length, so that ranks making different calls fail together with one message instead of hanging
// or reading past a buffer.
#include "collectives.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "distributed.h"
#include "errors.h"
#include "infonce_mpi_world.h"
#include "worker.h"

namespace infonce::bindings {
namespace {

// The JavaScript typed array a collective was given, seen as bytes.
struct Bytes {
  void* data = nullptr;
  int64_t length = 0;  // bytes
  int64_t kind = 0;    // the element kind's code, from JavaScript (only compared across ranks)
};

Bytes bytesOf(Napi::Env env, const Napi::Value& value, const Napi::Value& kind, const char* what) {
  if (!value.IsTypedArray()) throwTypeError(env, std::string(what) + ": expected a typed array, got " + describe(value));
  if (!kind.IsNumber()) throwTypeError(env, std::string(what) + ": expected the element kind's code");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  Bytes b;
  b.data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  b.length = static_cast<int64_t>(array.ByteLength());
  b.kind = kind.As<Napi::Number>().Int64Value();
  return b;
}

// Every rank's byte length; throws on every rank alike when the kinds (or a broadcast's roots) differ.
std::vector<int64_t> exchangeShapes(const MpiWorld& w, const char* what, const Bytes& mine, int64_t root = 0) {
  char error[512] = {0};
  const int64_t shape[3] = {mine.kind, mine.length, root};
  std::vector<int64_t> all(static_cast<size_t>(3 * w.size));
  std::vector<int64_t> shapeBytes(w.size, sizeof shape);
  mpiCheck(w.api->allgather(shape, sizeof shape, all.data(), shapeBytes.data(), error, sizeof error), error);
  std::vector<int64_t> lengths(w.size);
  for (int r = 0; r < w.size; ++r) {
    if (all[3 * r] != all[0])
      throw Error(ErrorCode::MpiFailed, std::string(what) + ": rank " + std::to_string(r) +
                                            " passed another element type than rank 0 (every rank must make the same call)");
    if (all[3 * r + 2] != all[2])
      throw Error(ErrorCode::MpiFailed, std::string(what) + ": rank " + std::to_string(r) + " names root " + std::to_string(all[3 * r + 2]) +
                                            ", rank 0 root " + std::to_string(all[2]) + " (every rank must make the same call)");
    lengths[r] = all[3 * r + 1];
  }
  return lengths;
}

}  // namespace

// mpiAllGather(array, kind) → Promise<{ data: ArrayBuffer, lengths: number[] }>: every rank's bytes
// in rank order, and how many each sent.
Napi::Value mpiAllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes mine = bytesOf(env, info[0], info[1], "allGather");
  // A copy: the caller may change its array while the worker sends it.
  auto send = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(mine.data),
                                                     static_cast<const uint8_t*>(mine.data) + mine.length);
  auto lengths = std::make_shared<std::vector<int64_t>>();
  auto received = std::make_shared<std::vector<uint8_t>>();
  const int64_t kind = mine.kind;
  return TaskWorker::queue(
      env, "infonce:allGather",
      [=] {
        std::lock_guard<std::mutex> lock(mpiCallLock());
        requireMpiOpen();
        const MpiWorld& w = mpiWorld();
        *lengths = exchangeShapes(w, "allGather", Bytes{send->data(), static_cast<int64_t>(send->size()), kind});
        int64_t total = 0;
        for (int64_t n : *lengths) total += n;
        received->resize(static_cast<size_t>(total));
        char error[512] = {0};
        mpiCheck(w.api->allgather(send->data(), static_cast<int64_t>(send->size()), received->data(), lengths->data(), error, sizeof error),
                 error);
      },
      [=](Napi::Env env) {
        Napi::Object out = Napi::Object::New(env);
        Napi::ArrayBuffer data = Napi::ArrayBuffer::New(env, received->size());
        if (!received->empty()) std::memcpy(data.Data(), received->data(), received->size());
        Napi::Array counts = Napi::Array::New(env, lengths->size());
        for (size_t r = 0; r < lengths->size(); ++r) counts.Set(static_cast<uint32_t>(r), static_cast<double>((*lengths)[r]));
        out.Set("data", data);
        out.Set("lengths", counts);
        return static_cast<Napi::Value>(out);
      });
}

// mpiBroadcast(array, kind, root) → Promise<void>: root's bytes written into every rank's array.
// The worker sends and receives a copy; the array is written on the main thread when it is done, so
// that nothing the caller does to it meanwhile (a transfer, a detach) meets a write from the worker.
Napi::Value mpiBroadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes target = bytesOf(env, info[0], info[1], "broadcast");
  if (!info[2].IsNumber()) throwTypeError(env, "broadcast: root: expected a rank, got " + describe(info[2]));
  const int64_t root = info[2].As<Napi::Number>().Int64Value();
  auto buffer = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(target.data),
                                                       static_cast<const uint8_t*>(target.data) + target.length);
  const Bytes mine{nullptr, target.length, target.kind};
  auto array = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[0].As<Napi::Object>()));
  return TaskWorker::queue(
      env, "infonce:broadcast",
      [=] {
        std::lock_guard<std::mutex> lock(mpiCallLock());
        requireMpiOpen();
        const MpiWorld& w = mpiWorld();
        // Compared first: a rank alone with a bad root must not leave the others in the broadcast.
        const std::vector<int64_t> lengths = exchangeShapes(w, "broadcast", mine, root);
        if (root < 0 || root >= w.size)
          throw Error(ErrorCode::InvalidArgument, "root: expected a rank in [0, " + std::to_string(w.size) + "), got " + std::to_string(root));
        for (int r = 0; r < w.size; ++r)
          if (lengths[r] != lengths[root])
            throw Error(ErrorCode::MpiFailed, "broadcast: rank " + std::to_string(r) + " has " + std::to_string(lengths[r]) +
                                                  " bytes to receive, rank " + std::to_string(root) + " sends " +
                                                  std::to_string(lengths[root]) + " (every rank must pass an array of the same length)");
        char error[512] = {0};
        mpiCheck(w.api->broadcast(buffer->data(), mine.length, static_cast<int>(root), error, sizeof error), error);
      },
      [=](Napi::Env env) {
        Napi::TypedArray out = array->Value().As<Napi::TypedArray>();
        if (static_cast<size_t>(out.ByteLength()) == buffer->size() && !buffer->empty())
          std::memcpy(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset(), buffer->data(), buffer->size());
        return env.Undefined();
      });
}

// mpiBarrier() → Promise<void>.
Napi::Value mpiBarrier(const Napi::CallbackInfo& info) {
  return TaskWorker::queue(
      info.Env(), "infonce:barrier",
      [] {
        std::lock_guard<std::mutex> lock(mpiCallLock());
        requireMpiOpen();
        char error[512] = {0};
        mpiCheck(mpiWorld().api->barrier(error, sizeof error), error);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

}  // namespace infonce::bindings
