// Runs native work on a libuv worker thread and settles a Promise with its result: the pattern of
// every asynchronous entry point (the work touches only plain memory; the result is made on the
// main thread). Core errors become JS errors with their code.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <vector>

#include "errors.h"
#include "infonce.h"

namespace infonce::bindings {

class TaskWorker : public Napi::AsyncWorker {
 public:
  // `pins`: JS objects whose memory the work reads or writes, kept alive until it is done.
  TaskWorker(Napi::Env env, const char* name, std::function<void()> work,
             std::function<Napi::Value(Napi::Env)> result, std::vector<Napi::Value> pins = {})
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        result_(std::move(result)) {
    for (const Napi::Value& v : pins)
      if (v.IsObject()) pins_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

  static Napi::Promise queue(Napi::Env env, const char* name, std::function<void()> work,
                             std::function<Napi::Value(Napi::Env)> result, std::vector<Napi::Value> pins = {}) {
    auto* worker = new TaskWorker(env, name, std::move(work), std::move(result), std::move(pins));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      error_.emplace(e);
    } catch (const std::bad_alloc&) {
      error_.emplace(ErrorCode::OutOfMemory, "out of host memory");
    } catch (const std::exception& e) {
      error_.emplace(ErrorCode::Internal, e.what());
    }
    if (error_) SetError(error_->what());
  }
  void OnOK() override { deferred_.Resolve(result_(Env())); }
  void OnError(const Napi::Error&) override { deferred_.Reject(toJsError(Env(), *error_).Value()); }
  // The completion runs JavaScript (the result, the promise). While the environment is shutting
  // down (a worker terminated with this call in flight, process.exit in a worker, a call made in an
  // 'exit' handler) it cannot, and node-addon-api's rethrow of that failure would escape into libuv
  // and std::terminate the whole process. Nobody is left to see the promise then: drop it.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    try {
      Napi::AsyncWorker::OnWorkComplete(env, status);
    } catch (...) {
      // The environment is going away; AsyncWorker::OnWorkComplete had not yet destroyed this worker.
      delete this;
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
  std::vector<Napi::ObjectReference> pins_;
  std::optional<Error> error_;
};

}  // namespace infonce::bindings
