// Opens NCCL (libnccl.so.2) the first time an NCCL communicator is asked for. The addon links no
// NCCL: it comes with the user's CUDA stack (the nvidia-nccl-cu13 wheel PyTorch installs, NVIDIA's
// libnccl2 package, a cluster's module).
#include "infonce_nccl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "infonce.h"

namespace infonce {
namespace {

const char* kInstall =
    "NCCL 2 comes with the CUDA stack: set INFONCE_NCCL_LIBRARY to its libnccl.so.2 (pip's nvidia-nccl-cu13 puts it "
    "in site-packages/nvidia/nccl/lib), or add its folder to LD_LIBRARY_PATH (NVIDIA's Debian/Ubuntu package: libnccl2)";

template <class F>
void resolve(void* handle, const char* name, F& slot, const std::string& library, bool required = true) {
  slot = reinterpret_cast<F>(dlsym(handle, name));
  if (!slot && required)
    throw Error(ErrorCode::NcclUnavailable, library + " has no " + name + ": not NCCL 2, or too old (2.12 or newer is needed)");
}

NcclApi open() {
  NcclApi api;
  const char* override = std::getenv("INFONCE_NCCL_LIBRARY");
  api.library = override && *override ? override : "libnccl.so.2";
  void* handle = dlopen(api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    throw Error(ErrorCode::NcclUnavailable,
                "NCCL could not be loaded (" + std::string(dlerror()) + "): " + kInstall);
  resolve(handle, "ncclGetVersion", api.getVersion, api.library);
  resolve(handle, "ncclGetUniqueId", api.getUniqueId, api.library);
  resolve(handle, "ncclCommInitRank", api.commInitRank, api.library);
  resolve(handle, "ncclCommDestroy", api.commDestroy, api.library);
  resolve(handle, "ncclCommAbort", api.commAbort, api.library);
  resolve(handle, "ncclCommGetAsyncError", api.commGetAsyncError, api.library);
  resolve(handle, "ncclGetErrorString", api.getErrorString, api.library);
  resolve(handle, "ncclGetLastError", api.getLastError, api.library, false);
  resolve(handle, "ncclAllReduce", api.allReduce, api.library);
  resolve(handle, "ncclAllGather", api.allGather, api.library);
  resolve(handle, "ncclReduceScatter", api.reduceScatter, api.library);
  resolve(handle, "ncclBroadcast", api.broadcast, api.library);
  resolve(handle, "ncclReduce", api.reduce, api.library);
  resolve(handle, "ncclGroupStart", api.groupStart, api.library);
  resolve(handle, "ncclGroupEnd", api.groupEnd, api.library);
  if (api.getVersion(&api.version) != 0) throw Error(ErrorCode::NcclUnavailable, api.library + ": ncclGetVersion failed");
  if (api.version < 21200)
    throw Error(ErrorCode::NcclUnavailable, api.library + " is " + api.versionName() + "; infonce needs NCCL 2.12 or newer");
  return api;
}

}  // namespace

std::string NcclApi::versionName() const {
  // Since 2.9 the code is major·10000 + minor·100 + patch; before, major·1000 + minor·100 + patch.
  const int major = version >= 10000 ? version / 10000 : version / 1000;
  const int minor = version >= 10000 ? version / 100 % 100 : version / 100 % 10;
  return "NCCL " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(version % 100);
}

std::string NcclApi::describe(NcclResult result, NcclComm comm) const {
  std::string text = getErrorString ? getErrorString(result) : "error " + std::to_string(result);
  const char* last = getLastError ? getLastError(comm) : nullptr;
  if (last && *last) text += " (" + std::string(last) + ")";
  return text;
}

const NcclApi& ncclApi() {
  static std::mutex mutex;
  static NcclApi* api = nullptr;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mutex);
  if (api) return *api;
  if (!failure.empty()) throw Error(ErrorCode::NcclUnavailable, failure);
  try {
    api = new NcclApi(open());  // once per process, never freed (the library stays open)
  } catch (const Error& e) {
    failure = e.what();
    throw;
  }
  return *api;
}

}  // namespace infonce
