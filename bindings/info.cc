#include "info.h"

#include "infonce.h"

namespace infonce::bindings {

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
  return out;
}

}  // namespace infonce::bindings
