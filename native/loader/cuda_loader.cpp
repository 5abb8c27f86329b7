#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "addon_folder.h"
#include "infonce_cuda.h"
#include "schedule/main_loop.h"

namespace infonce {
namespace {

std::mutex mutex;
std::string preferredPath;
const InfonceCudaApi* api = nullptr;
// INFONCE_CUDA_LIBRARY is a developer override (a backend built by hand, e.g. with source lines for
// compute-sanitizer). Code named by the environment is loaded only when a caller asked for the GPU
// by name (cudaApi(): backend 'cuda', a DeviceTensor, the self-test) before the backend was first
// opened; device 'auto' and backendInfo() alone never load it.
bool overrideArmed = false;

// The folder of the addon (this code is linked into it): infonce_cuda.so is built next to it.
std::string addonFolder() { return addonFolderOf(reinterpret_cast<const void*>(&setCudaLibraryPath)); }

bool fileExists(const std::string& path) { return !path.empty() && access(path.c_str(), R_OK) == 0; }

CudaAvailability probe() {
  CudaAvailability a;
  std::vector<std::string> candidates;
  const char* override = std::getenv("INFONCE_CUDA_LIBRARY");
  if (override && *override && overrideArmed) candidates.push_back(override);
  if (!preferredPath.empty()) candidates.push_back(preferredPath);
  candidates.push_back(addonFolder() + "/infonce_cuda.so");
  std::string tried;
  for (const std::string& c : candidates) {
    tried += (tried.empty() ? "" : ", ") + c;
    if (fileExists(c)) {
      a.library = c;
      break;
    }
  }
  if (a.library.empty()) {
    a.code = ErrorCode::CudaNotBuilt;
    a.reason = "this installation of infonce has no CUDA backend (looked for " + tried +
               "); install it with `npm install @infonce/linux-x64-cuda` (Linux x64, NVIDIA driver for CUDA 13), "
               "or build infonce from source with nvcc on PATH (INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce)";
    return a;
  }
  void* handle = dlopen(a.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    a.code = ErrorCode::CudaUnavailable;
    a.reason = std::string("the CUDA backend ") + a.library + " could not be loaded: " + dlerror();
    return a;
  }
  using Entry = const InfonceCudaApi* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "infonce_cuda_api"));
  const InfonceCudaApi* table = entry ? entry() : nullptr;
  if (!table || table->abiVersion != INFONCE_CUDA_ABI_VERSION) {
    a.code = ErrorCode::CudaUnavailable;
    a.reason = "the CUDA backend " + a.library + " belongs to another version of infonce (interface " +
               std::to_string(table ? table->abiVersion : -1) + ", expected " +
               std::to_string(INFONCE_CUDA_ABI_VERSION) + ")";
    return a;
  }
  a.architectures = table->architectures ? table->architectures : "";
  a.mainLoops = table->mainLoops ? table->mainLoops : "";
  a.built = true;
  char error[512] = "";
  const InfonceCudaStatus status = table->deviceCount(&a.devices, error, sizeof error);
  if (status != INFONCE_CUDA_OK) {
    a.code = ErrorCode::CudaNoDevice;
    a.reason = error;
    return a;
  }
  api = table;
  a.available = true;
  a.reason.clear();
  return a;
}

}  // namespace

void setCudaLibraryPath(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex);
  preferredPath = path;
}

const CudaAvailability& cudaAvailability() {
  static CudaAvailability* availability = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (!availability) availability = new CudaAvailability(probe());  // once per process, never freed
  return *availability;
}

const InfonceCudaApi& cudaApi() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    overrideArmed = true;  // an explicit request: see overrideArmed
  }
  const CudaAvailability& a = cudaAvailability();
  if (!a.available) throw Error(a.code, "backend 'cuda': " + a.reason);
  return *api;
}

void throwCudaStatus(InfonceCudaStatus status, const char* message) {
  switch (status) {
    case INFONCE_CUDA_OK: return;
    case INFONCE_CUDA_INVALID: throw Error(ErrorCode::InvalidArgument, message);
    case INFONCE_CUDA_OUT_OF_MEMORY: throw Error(ErrorCode::CudaOutOfMemory, message);
    case INFONCE_CUDA_NO_DEVICE:
    case INFONCE_CUDA_NO_DRIVER: throw Error(ErrorCode::CudaNoDevice, message);
    case INFONCE_CUDA_COLLECTIVE: throw Error(ErrorCode::NcclFailed, message);  // only NCCL supplies collectives
    default: throw Error(ErrorCode::CudaLaunch, message);
  }
}

void contrastiveLossCuda(const LossProblem& p, const CudaLossCall& call, LossResult& result, const InfonceCudaShard* shard) {
  const InfonceCudaApi& table = cudaApi();
  InfonceCudaLossArgs args{};
  args.device = call.device;
  args.x = {call.x.data, call.x.onDevice ? 1 : 0, call.x.dtype};
  args.y = {call.y.data, call.y.onDevice ? 1 : 0, call.y.dtype};
  args.targets = p.targets;
  args.rowGroups = p.rowGroups;
  args.columnGroups = p.columnGroups;
  args.rows = p.rows;
  args.cols = p.cols;
  args.dim = p.dim;
  args.logScale = p.logScale;
  args.symmetric = p.symmetric ? 1 : 0;
  switch (p.precision) {  // the C interface's own enum: the two sides may be built apart
    case Precision::Tf32: args.precision = INFONCE_PRECISION_TF32; break;
    case Precision::Bf16: args.precision = INFONCE_PRECISION_BF16; break;
    case Precision::Fp16: args.precision = INFONCE_PRECISION_FP16; break;
    default: args.precision = INFONCE_PRECISION_FP32;
  }
  args.gradX = result.gradX;
  args.gradY = result.gradY;
  args.gradOnDevice = call.gradOnDevice ? 1 : 0;
  args.forceSmallTiles = call.forceSmallTiles ? 1 : 0;
  args.panelGradients = call.panelGradients ? 1 : 0;
  args.requiredLoop = call.requiredLoop;
  args.memoryBudget = p.memoryBudget;
  args.shard = shard;
  InfonceCudaLossResult out{};
  char error[1024] = "";
  throwCudaStatus(table.contrastiveLoss(&args, &out, error, sizeof error), error);
  result.loss = out.loss;
  result.gradLogScale = out.gradLogScale;
  result.accuracyRow = out.accuracyRow;
  result.accuracyCol = out.accuracyCol;
  result.meanPositiveLogit = out.meanPositiveLogit;
  result.meanRowLogSumExp = out.meanRowLogSumExp;
  result.mainLoop = cuda::mainLoopName(out.mainLoop);
}

}  // namespace infonce
