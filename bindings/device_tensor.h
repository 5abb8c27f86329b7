// DeviceTensor: a row-major matrix in GPU memory (fp32, bf16 or fp16), so that a training loop can
// keep embeddings and gradients on the device between loss calls. Freed by dispose(), or by the
// garbage collector as a backstop.
#pragma once

#include <napi.h>

#include <cstdint>
#include <utility>

#include "infonce_cuda_abi.h"

namespace infonce::bindings {

class DeviceTensor : public Napi::ObjectWrap<DeviceTensor> {
 public:
  static Napi::Function define(Napi::Env env);
  // The DeviceTensor behind a JS value, or null if it is not one.
  static DeviceTensor* from(const Napi::Value& value);
  // A new zero-initialised fp32 tensor (the gradient outputs of a loss call).
  static Napi::Object create(Napi::Env env, int64_t rows, int64_t cols, InfonceDtype dtype, int device);

  explicit DeviceTensor(const Napi::CallbackInfo& info);
  ~DeviceTensor() override;

  void* data() const { return data_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  InfonceDtype dtype() const { return dtype_; }
  int device() const { return device_; }
  bool disposed() const { return data_ == nullptr; }
  // A pending call holds the tensor: dispose() refuses until it is over.
  void hold() { ++holds_; }
  void letGo() { --holds_; }

 private:
  static Napi::Value fromFloat32Array(const Napi::CallbackInfo& info);
  Napi::Value toFloat32Array(const Napi::CallbackInfo& info);
  Napi::Value toFloat32ArraySync(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value getRows(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(rows_)); }
  Napi::Value getCols(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(cols_)); }
  Napi::Value getDtype(const Napi::CallbackInfo& info);
  Napi::Value getDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
  Napi::Value getDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed()); }
  void requireLive(Napi::Env env, const char* what) const;
  void release();

  void* data_ = nullptr;
  int64_t rows_ = 0, cols_ = 0;
  InfonceDtype dtype_ = INFONCE_DTYPE_FLOAT32;
  int device_ = 0;
  int holds_ = 0;
};

// DeviceTensors a call uses: held (dispose() refuses) until the call is over.
class TensorHolds {
 public:
  TensorHolds() = default;
  TensorHolds(TensorHolds&& other) noexcept {
    for (int k = 0; k < 4; ++k) std::swap(tensors_[k], other.tensors_[k]);
  }
  TensorHolds& operator=(TensorHolds&&) = delete;
  ~TensorHolds() {
    for (DeviceTensor* t : tensors_)
      if (t) t->letGo();
  }
  void hold(DeviceTensor* t) {
    for (DeviceTensor*& slot : tensors_)
      if (!slot) {
        slot = t;
        t->hold();
        return;
      }
  }

 private:
  DeviceTensor* tensors_[4] = {nullptr, nullptr, nullptr, nullptr};
};

const char* dtypeName(InfonceDtype dtype);

}  // namespace infonce::bindings
