#include "info.h"

#include <cstdlib>
#include <sstream>

#include "infonce.h"
#include "infonce_cuda.h"

namespace infonce::bindings {

namespace {

Napi::Array words(Napi::Env env, const std::string& text) {
  Napi::Array out = Napi::Array::New(env);
  std::istringstream in(text);
  std::string word;
  while (in >> word) out.Set(out.Length(), word);
  return out;
}

Napi::Object cudaInfo(Napi::Env env) {
  const CudaAvailability& cuda = cudaAvailability();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", cuda.available);
  out.Set("library", cuda.library.empty() ? env.Null() : Napi::String::New(env, cuda.library));
  const char* override = std::getenv("INFONCE_CUDA_LIBRARY");
  out.Set("override", override && *override ? Napi::Value(Napi::String::New(env, override)) : env.Null());
  if (!cuda.available) {
    out.Set("reason", cuda.reason);
    out.Set("code", errorCodeName(cuda.code));
  }
  Napi::Array devices = Napi::Array::New(env);
  if (cuda.available) {
    const InfonceCudaApi& api = cudaApi();
    for (int d = 0; d < cuda.devices; ++d) {
      InfonceCudaDeviceInfo i;
      char error[256];
      if (api.deviceInfo(d, &i, error, sizeof error) != INFONCE_CUDA_OK) continue;
      Napi::Object device = Napi::Object::New(env);
      device.Set("index", d);
      device.Set("name", i.name);
      device.Set("computeCapability", std::to_string(i.major) + "." + std::to_string(i.minor));
      device.Set("multiprocessors", i.multiprocessors);
      device.Set("totalMemory", double(i.totalMemory));
      device.Set("freeMemory", double(i.freeMemory));
      device.Set("driverVersion", i.driverVersion);
      device.Set("runtimeVersion", i.runtimeVersion);
      devices.Set(devices.Length(), device);
    }
  }
  out.Set("devices", devices);
  // What the backend holds, read from the library itself (also on a machine without a GPU).
  if (cuda.built) {
    Napi::Object built = Napi::Object::New(env);
    built.Set("architectures", words(env, cuda.architectures));
    built.Set("mainLoops", words(env, cuda.mainLoops));
    out.Set("built", built);
  } else {
    out.Set("built", env.Null());
  }
  return out;
}

}  // namespace

Napi::Value backendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuInfo cpu = cpuInfo();
  Napi::Object out = Napi::Object::New(env);
  Napi::Object c = Napi::Object::New(env);
  c.Set("avx512", cpu.avx512);
  c.Set("avx2", cpu.avx2);
  c.Set("avx512bf16", cpu.avx512bf16);
  c.Set("threads", cpu.hardwareThreads);
  c.Set("isa", cpu.selectedIsa);
  Napi::Array isas = Napi::Array::New(env);
  uint32_t n = 0;
  for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2, CpuIsa::Portable})
    if (cpuIsaSupported(isa)) isas.Set(n++, cpuIsaName(isa));
  c.Set("supportedIsas", isas);
  out.Set("cpu", c);
  out.Set("cuda", cudaInfo(env));
  return out;
}

}  // namespace infonce::bindings
