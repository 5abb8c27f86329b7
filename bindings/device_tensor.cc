#include "device_tensor.h"

#include <optional>
#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce_cuda.h"

namespace infonce::bindings {
namespace {

// Per-environment state: the constructor (to make tensors from C++) and a marker that lets only
// C++ call it.
struct TensorClass {
  Napi::FunctionReference constructor;
  Napi::Reference<Napi::Value> token;
};

TensorClass& tensorClass(Napi::Env env) { return *env.GetInstanceData<TensorClass>(); }

size_t elementBytes(InfonceDtype dtype) { return dtype == INFONCE_DTYPE_FLOAT32 ? 4 : 2; }

InfonceDtype parseDtype(const std::string& name) {
  return name == "bfloat16" ? INFONCE_DTYPE_BFLOAT16 : name == "float16" ? INFONCE_DTYPE_FLOAT16 : INFONCE_DTYPE_FLOAT32;
}

// Copies a tensor to a Float32Array on a worker thread.
class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, DeviceTensor* tensor, Napi::Object owner)
      : Napi::AsyncWorker(env, "infonce:download"), deferred_(Napi::Promise::Deferred::New(env)), tensor_(tensor) {
    owner_ = Napi::Persistent(owner);
    const size_t count = static_cast<size_t>(tensor->rows() * tensor->cols());
    out_ = Napi::Persistent(static_cast<Napi::Object>(Napi::Float32Array::New(env, count)));
    destination_ = out_.Value().As<Napi::Float32Array>().Data();
    tensor_->hold();
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    char error[512] = "";
    try {
      const InfonceCudaApi& api = cudaApi();
      const InfonceCudaStatus status =
          api.download(tensor_->device(), destination_, tensor_->data(), tensor_->dtype(),
                       static_cast<size_t>(tensor_->rows() * tensor_->cols()), error, sizeof error);
      throwCudaStatus(status, error);
    } catch (const Error& e) {
      failure_.emplace(e);
      SetError(e.what());
    }
  }
  void OnOK() override {
    tensor_->letGo();
    deferred_.Resolve(out_.Value());
  }
  void OnError(const Napi::Error&) override {
    tensor_->letGo();
    deferred_.Reject(toJsError(Env(), *failure_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  DeviceTensor* tensor_;
  Napi::ObjectReference owner_, out_;
  float* destination_ = nullptr;
  std::optional<Error> failure_;
};

}  // namespace

const char* dtypeName(InfonceDtype dtype) {
  switch (dtype) {
    case INFONCE_DTYPE_BFLOAT16: return "bfloat16";
    case INFONCE_DTYPE_FLOAT16: return "float16";
    default: return "float32";
  }
}

Napi::Function DeviceTensor::define(Napi::Env env) {
  Napi::Function constructor = DefineClass(
      env, "DeviceTensor",
      {StaticMethod<&DeviceTensor::fromFloat32Array>("fromFloat32Array"),
       InstanceMethod<&DeviceTensor::toFloat32Array>("toFloat32Array"),
       InstanceMethod<&DeviceTensor::toFloat32ArraySync>("toFloat32ArraySync"),
       InstanceMethod<&DeviceTensor::dispose>("dispose"), InstanceAccessor<&DeviceTensor::getRows>("rows"),
       InstanceAccessor<&DeviceTensor::getCols>("cols"), InstanceAccessor<&DeviceTensor::getDtype>("dtype"),
       InstanceAccessor<&DeviceTensor::getDevice>("gpu"),
       InstanceAccessor<&DeviceTensor::getDevice>("device"),  // the old name of `gpu`, for one release
       InstanceAccessor<&DeviceTensor::getDisposed>("disposed")});
  auto* state = new TensorClass();
  state->constructor = Napi::Persistent(constructor);
  state->token = Napi::Persistent(static_cast<Napi::Value>(Napi::Object::New(env)));
  env.SetInstanceData<TensorClass>(state);
  return constructor;
}

DeviceTensor* DeviceTensor::from(const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Env env = value.Env();
  TensorClass* state = env.GetInstanceData<TensorClass>();
  if (!state || !value.As<Napi::Object>().InstanceOf(state->constructor.Value())) return nullptr;
  return Unwrap(value.As<Napi::Object>());
}

DeviceTensor::DeviceTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceTensor>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].StrictEquals(tensorClass(env).token.Value()))
    throwTypeError(env, "DeviceTensor: use toDevice(data, { rows, cols, dtype, gpu })");
}

DeviceTensor::~DeviceTensor() { release(); }

void DeviceTensor::release() {
  if (!data_) return;
  char error[256];
  if (cudaAvailability().available) cudaApi().release(device_, data_, error, sizeof error);
  data_ = nullptr;
}

Napi::Object DeviceTensor::create(Napi::Env env, int64_t rows, int64_t cols, InfonceDtype dtype, int device) {
  const InfonceCudaApi& api = cudaApi();
  Napi::Object object = tensorClass(env).constructor.New({tensorClass(env).token.Value()});
  DeviceTensor* tensor = Unwrap(object);
  char error[512] = "";
  void* data = nullptr;
  throwCudaStatus(api.allocate(device, elementBytes(dtype) * size_t(rows * cols), &data, error, sizeof error), error);
  tensor->data_ = data;
  tensor->rows_ = rows;
  tensor->cols_ = cols;
  tensor->dtype_ = dtype;
  tensor->device_ = device;
  return object;
}

Napi::Value DeviceTensor::fromFloat32Array(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options options(env, info[1], "options", {"rows", "cols", "dtype", "gpu", "device"});
  const int64_t rows = options.integer("rows", 1, 2147483647);
  const int64_t cols = options.integer("cols", 1, 2147483647);
  Napi::Float32Array data = float32Array(env, info[0], "data", rows * cols,
                                         "rows × cols = " + std::to_string(rows) + " × " + std::to_string(cols));
  const InfonceDtype dtype = parseDtype(options.optionalChoice("dtype", {"float32", "bfloat16", "float16"}).value_or("float32"));
  const char* gpuKey = options.renamed("gpu", "device");  // `device` up to 0.1.0
  const int device = static_cast<int>(options.optionalInteger(gpuKey, 0, 1023).value_or(0));
  try {
    cudaApi();  // a GPU asked for by name (throws ERR_CUDA_* with the reason when there is none)
    const CudaAvailability& cuda = cudaAvailability();
    if (cuda.available && device >= cuda.devices)
      throwRangeError(env, std::string(gpuKey) + ": expected a GPU index below " + std::to_string(cuda.devices) + ", got " +
                               std::to_string(device));
    Napi::Object object = create(env, rows, cols, dtype, device);
    DeviceTensor* tensor = Unwrap(object);
    char error[512] = "";
    throwCudaStatus(cudaApi().upload(device, tensor->data_, dtype, data.Data(), size_t(rows * cols), error, sizeof error),
                    error);
    return object;
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
}

void DeviceTensor::requireLive(Napi::Env env, const char* what) const {
  if (disposed()) {
    Napi::Error error = Napi::Error::New(env, std::string("DeviceTensor: ") + what + " after dispose()");
    error.Set("code", Napi::String::New(env, kTensorDisposed));
    throw error;
  }
}

Napi::Value DeviceTensor::toFloat32Array(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Promise::Deferred failed = Napi::Promise::Deferred::New(env);
  try {
    requireLive(env, "toFloat32Array()");
  } catch (const Napi::Error& e) {
    failed.Reject(e.Value());
    return failed.Promise();
  }
  auto* worker = new DownloadWorker(env, this, info.This().As<Napi::Object>());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value DeviceTensor::toFloat32ArraySync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env, "toFloat32ArraySync()");
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(rows_ * cols_));
  char error[512] = "";
  try {
    throwCudaStatus(cudaApi().download(device_, out.Data(), data_, dtype_, size_t(rows_ * cols_), error, sizeof error),
                    error);
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  return out;
}

Napi::Value DeviceTensor::dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (holds_ > 0) {
    Napi::Error error = Napi::Error::New(env, "DeviceTensor: dispose() while a pending call is using the tensor");
    error.Set("code", Napi::String::New(env, kTensorInUse));
    throw error;
  }
  release();
  return env.Undefined();
}

Napi::Value DeviceTensor::getDtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(dtype_));
}

}  // namespace infonce::bindings
