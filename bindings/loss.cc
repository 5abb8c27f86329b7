#include "loss.h"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "arguments.h"
#include "device_tensor.h"
#include "errors.h"
#include "infonce.h"
#include "owned_copy.h"
#include "owned_tables.h"
#include "worker.h"
#include "infonce_cuda.h"

namespace infonce::bindings {
namespace {

enum class Algorithm { Fused, Naive };

// One call, parsed: the problem for the core, where it runs, and the JS objects it points into,
// pinned until the call is over so that the garbage collector cannot free them under a worker.
struct LossCall {
  LossProblem problem;
  Algorithm algorithm = Algorithm::Fused;
  bool onGpu = false;
  CudaLossCall cuda;
  Napi::ObjectReference x, y, gradX, gradY;
  TensorHolds holds;
  // Host inputs the call owns (see owned_copy.h): the targets always (checked once, then never read
  // from the caller's array again); x and y for the asynchronous call, copied, or held in place when
  // their memory is the addon's (owned_tables.h: no copy, and a write during the call is refused).
  TableView ownedX, ownedY;
  std::vector<int32_t> ownedTargets;
  std::vector<int32_t> ownedRowGroups, ownedColumnGroups;
  bool groupsPerPair = false;  // one array for both sides: the column groups follow the targets
  std::vector<int64_t> prefixDims;  // Matryoshka (`matryoshka`), copied
  std::vector<double> prefixWeights;
  float* gradXData = nullptr;  // gradX's memory (host or device), for the worker thread
  float* gradYData = nullptr;
  void hold(DeviceTensor* t) { holds.hold(t); }
};

// x or y is a Float32Array or a DeviceTensor: checked before the options are read, so that a
// wrong type is the error a caller sees first.
void requireMatrix(Napi::Env env, const Napi::Value& value, const char* name, const char* rowsName) {
  if (DeviceTensor::from(value) != nullptr) return;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, std::string(name) + ": expected a Float32Array (" + rowsName +
                            " × dim, row-major) or a DeviceTensor, got " + describe(value));
}

// x or y (of a type requireMatrix accepted): a Float32Array of rows × dim, or a DeviceTensor of rows
// rows and dim columns. Checks the shape; a Float32Array's memory is taken later, by hostData, once
// every option has been read (an option's getter may detach or resize the array).
CudaMatrix matrixArgument(Napi::Env env, const Napi::Value& value, const char* name, const char* rowsName,
                          int64_t rows, int64_t dim, Napi::ObjectReference& pin, LossCall& call) {
  CudaMatrix m;
  if (DeviceTensor* tensor = DeviceTensor::from(value)) {
    if (tensor->disposed()) throwRangeError(env, std::string(name) + ": the DeviceTensor has been disposed");
    if (tensor->rows() != rows || tensor->cols() != dim)
      throwRangeError(env, std::string(name) + ": expected a DeviceTensor of " + rowsName + " × dim = " +
                               std::to_string(rows) + " × " + std::to_string(dim) + ", got " +
                               std::to_string(tensor->rows()) + " × " + std::to_string(tensor->cols()));
    m.data = tensor->data();
    m.onDevice = true;
    m.dtype = tensor->dtype();
    call.cuda.device = tensor->device();
    call.hold(tensor);
  } else {
    float32Array(env, value, name, rows * dim,
                 std::string(rowsName) + " × dim = " + std::to_string(rows) + " × " + std::to_string(dim));
  }
  pin = Napi::Persistent(value.As<Napi::Object>());
  return m;
}

// A host matrix's memory, checked again (an option's getter may have changed it since
// matrixArgument): the caller's own for a synchronous call; for an asynchronous one, held in place
// when the addon owns it, else a copy.
const float* hostData(Napi::Env env, const Napi::Value& value, const char* name, int64_t length, TableView* owned) {
  Napi::Float32Array array = float32Array(env, value, name, length, std::string(name) == "x" ? "rows × dim, as when the call began" : "cols × dim, as when the call began");
  if (!owned) return array.Data();
  *owned = ownedTable(env, array, name);
  return owned->data;
}

// `groups`: an Int32Array of one group per pair (rows = cols; column t(i) gets row i's group), or
// { rows: Int32Array(rows), cols: Int32Array(cols) }. Always copied (read on a worker thread).
void parseGroups(Napi::Env env, const Napi::Value& value, LossCall& call) {
  const LossProblem& p = call.problem;
  if (value.IsTypedArray()) {
    if (p.cols != p.rows)
      throwRangeError(env, "groups: one Int32Array (a group per pair) needs cols = rows; with cols = " +
                               std::to_string(p.cols) + " > rows = " + std::to_string(p.rows) +
                               " give { rows: Int32Array(rows), cols: Int32Array(cols) }");
    call.ownedRowGroups = ownedCopy(env, int32Array(env, value, "groups", p.rows, "rows, one group per pair"), "groups");
    call.groupsPerPair = true;
    return;
  }
  if (!value.IsObject() || value.IsArray())
    throwTypeError(env, "groups: expected an Int32Array (a group per pair) or { rows: Int32Array, cols: Int32Array }, got " +
                            describe(value));
  const Options groups(env, value, "groups", {"rows", "cols"});
  if (!groups.has("rows") || !groups.has("cols"))
    throwTypeError(env, "groups: expected both groups.rows and groups.cols (Int32Arrays)");
  call.ownedRowGroups = ownedCopy(env, int32Array(env, groups.get("rows"), "groups.rows", p.rows, "rows"), "groups.rows");
  call.ownedColumnGroups = ownedCopy(env, int32Array(env, groups.get("cols"), "groups.cols", p.cols, "cols"), "groups.cols");
}

// `matryoshka` (bindings/arguments.h: parseMatryoshkaOption), owned by the call.
void parseMatryoshka(Napi::Env env, const Napi::Value& value, LossCall& call) {
  MatryoshkaOption option = parseMatryoshkaOption(env, value);
  call.prefixDims = std::move(option.dims);
  call.prefixWeights = std::move(option.weights);
  LossProblem& p = call.problem;
  p.prefixDims = call.prefixDims.data();
  p.prefixWeights = call.prefixWeights.data();
  p.prefixCount = static_cast<int>(call.prefixDims.size());
}

// ownInputs: copy the host inputs, for a call that runs on a worker thread.
LossCall parse(const Napi::CallbackInfo& info, bool ownInputs) {
  Napi::Env env = info.Env();
  requireMatrix(env, info[0], "x", "rows");
  requireMatrix(env, info[1], "y", "cols");
  const Options options(env, info[2], "options",
                        {"rows", "cols", "dim", "logScale", "symmetric", "targets", "device", "threads", "algorithm",
                         "isa", "precision", "tiles", "memoryBudget", "gradientFilter", "gpuSchedule", "gpu", "backend",
                         "groups", "matryoshka", "positives"});
  constexpr int64_t kMaxRows = 2147483647;
  LossCall call;
  LossProblem& p = call.problem;
  p.rows = options.integer("rows", 1, kMaxRows);
  p.dim = options.integer("dim", 1, kMaxRows);
  p.cols = options.optionalInteger("cols", 1, kMaxRows).value_or(p.rows);
  if (p.cols < p.rows)
    throwRangeError(env, "cols: expected at least rows = " + std::to_string(p.rows) +
                             " (every query's positive is among the documents), got " + std::to_string(p.cols));
  call.cuda.x = matrixArgument(env, info[0], "x", "rows", p.rows, p.dim, call.x, call);
  call.cuda.y = matrixArgument(env, info[1], "y", "cols", p.cols, p.dim, call.y, call);
  if (call.cuda.x.onDevice && call.cuda.y.onDevice && DeviceTensor::from(info[0])->device() != DeviceTensor::from(info[1])->device())
    throwRangeError(env, "y: expected a DeviceTensor on the same GPU as x");
  p.logScale = options.optionalNumber("logScale").value_or(kDefaultLogScale);
  p.symmetric = options.optionalBoolean("symmetric").value_or(true);
  if (options.has("targets")) {
    call.ownedTargets = ownedCopy(env, int32Array(env, options.get("targets"), "targets", p.rows, "rows"), "targets");
    p.targets = call.ownedTargets.data();
  }
  const bool grouped = options.has("groups") && !options.get("groups").IsUndefined();
  if (grouped) parseGroups(env, options.get("groups"), call);
  p.groupPositives = options.optionalChoice("positives", {"target", "groups"}).value_or("target") == "groups";
  const bool nested = options.has("matryoshka") && !options.get("matryoshka").IsUndefined();
  if (nested) parseMatryoshka(env, options.get("matryoshka"), call);
  p.threads = static_cast<int>(options.optionalInteger("threads", 1, 1024).value_or(0));
  call.algorithm = options.optionalChoice("algorithm", {"fused", "naive"}).value_or("fused") == "naive"
                       ? Algorithm::Naive
                       : Algorithm::Fused;
  const std::string isa = options.optionalChoice("isa", {"auto", "avx512", "avx2", "portable"}).value_or("auto");
  p.isa = isa == "avx512" ? CpuIsa::Avx512 : isa == "avx2" ? CpuIsa::Avx2 : isa == "portable" ? CpuIsa::Portable : CpuIsa::Auto;
  if (!cpuIsaSupported(p.isa)) throwRangeError(env, "isa: this CPU does not support '" + isa + "'");
  call.cuda.forceSmallTiles = options.optionalChoice("tiles", {"auto", "small"}).value_or("auto") == "small";
  // Experimental (see CudaLossCall::panelGradients): the option, else INFONCE_CUDA_PANEL=1, read here
  // on the main thread.
  const char* panelFlag = std::getenv("INFONCE_CUDA_PANEL");
  const std::string defaultSchedule = panelFlag && std::string(panelFlag) == "1" ? "panels" : "tiles";
  call.cuda.panelGradients = options.optionalChoice("gpuSchedule", {"tiles", "panels"}).value_or(defaultSchedule) == "panels";
  // In development, for the GPU runs (bench/gpu-first.sh): the panel kernels on the sm_90a or sm_100a
  // main loop, required (a call that cannot run there fails; no option: not for users yet).
  const auto switchedOn = [](const char* name) {
    const char* value = std::getenv(name);
    return value && std::string(value) == "1";
  };
  const bool wgmma = switchedOn("INFONCE_CUDA_WGMMA"), tcgen05 = switchedOn("INFONCE_CUDA_TCGEN05");
  if (wgmma && tcgen05)
    throwRangeError(env, "INFONCE_CUDA_WGMMA=1 and INFONCE_CUDA_TCGEN05=1 ask for two main loops; set one of them");
  call.cuda.requiredLoop = wgmma ? INFONCE_MAIN_LOOP_SM90A : tcgen05 ? INFONCE_MAIN_LOOP_SM100A : INFONCE_MAIN_LOOP_AUTO;
  p.memoryBudget = options.optionalInteger("memoryBudget", 0, int64_t(1) << 53).value_or(p.memoryBudget);
  p.gradientFilter = options.optionalNumber("gradientFilter").value_or(0.0);
  if (!(p.gradientFilter >= 0 && p.gradientFilter < 1))
    throwRangeError(env, "gradientFilter: expected a number in [0, 1) (a softmax probability below which a tile's "
                         "gradient products are skipped; 0 is exact), got " + std::to_string(p.gradientFilter));

  // Where it runs. Device tensors need the GPU; 'auto' takes the GPU when one is usable.
  const bool anyTensor = call.cuda.x.onDevice || call.cuda.y.onDevice;
  // `backend` was `device` up to 0.1.0 (accepted until 0.3.0; `device` now names a DeviceTensor's GPU index).
  const char* backendKey = options.renamed("backend", "device");
  const std::string device = options.optionalChoice(backendKey, {"cpu", "cuda", "auto"}).value_or("auto");
  const std::string tensorDtype = call.cuda.x.onDevice ? dtypeName(call.cuda.x.dtype) : "float32";
  const std::string defaultPrecision = tensorDtype == "bfloat16" ? "bf16" : tensorDtype == "float16" ? "fp16" : "fp32";
  const std::string precision =
      options.optionalChoice("precision", {precisionName(Precision::Fp32), precisionName(Precision::Tf32),
                                           precisionName(Precision::Bf16), precisionName(Precision::Fp16)})
          .value_or(defaultPrecision);
  try {
    if (device == "cpu" && anyTensor)
      throwRangeError(env, std::string(backendKey) + ": 'cpu' cannot read a DeviceTensor; use 'cuda' or 'auto', or pass Float32Arrays");
    if (device == "cuda" || anyTensor) {
      cudaApi();  // throws ERR_CUDA_* with the reason
      call.onGpu = true;
    } else if (device == "auto") {
      // Group masking is verified on the CPU only: 'auto' runs such calls there.
      // So are Matryoshka prefixes.
      call.onGpu = cudaAvailability().available && call.algorithm == Algorithm::Fused && !grouped && !nested;
    }
    // On the GPU only the experimental panel schedule masks (16-bit operands): an explicit opt-in
    // until a GPU run has checked it against the reference.
    if (call.onGpu && grouped && (!call.cuda.panelGradients || (precision != "bf16" && precision != "fp16")))
      throwRangeError(env, "groups: the CUDA backend masks groups only in the experimental panel schedule "
                           "(gpuSchedule: 'panels' with precision 'bf16' or 'fp16'); use backend 'cpu' (or 'auto', "
                           "which runs a call with groups on the CPU)");
    if (call.onGpu && p.groupPositives)
      throwRangeError(env, "positives: the CUDA backend does not take positives from groups yet; use backend 'cpu' "
                           "(or 'auto', which runs a call with groups on the CPU)");
    if (call.onGpu && nested)
      throwRangeError(env, "matryoshka: the CUDA backend does not run Matryoshka prefixes yet (no GPU run has checked "
                           "them); use backend 'cpu' (or 'auto', which runs such a call on the CPU)");
    if (options.has("gpu")) {
      const int gpu = static_cast<int>(options.optionalInteger("gpu", 0, 1023).value_or(0));
      if (anyTensor && gpu != call.cuda.device)
        throwRangeError(env, "gpu: the DeviceTensor inputs are on GPU " + std::to_string(call.cuda.device) + ", got " +
                                 std::to_string(gpu));
      if (call.onGpu && gpu >= cudaAvailability().devices)
        throwRangeError(env, "gpu: expected a GPU index below " + std::to_string(cudaAvailability().devices) + ", got " +
                                 std::to_string(gpu));
      call.cuda.device = gpu;
    }
    if (call.onGpu && call.algorithm == Algorithm::Naive)
      throwRangeError(env, "algorithm: 'naive' runs on the CPU only (use device 'cpu')");
    if (!call.onGpu && precision != "fp32" && precision != "bf16")  // never a silent fp32 instead
      throwRangeError(env, "precision: '" + precision + "' is for the GPU; " +
                               (device == "cpu" ? std::string("the CPU")
                                                : std::string(backendKey) + " 'auto' found none (" +
                                                      cudaAvailability().reason + "), and the CPU") +
                               " computes in 'fp32' or 'bf16'");
    for (Precision candidate : kPrecisions)
      if (precision == precisionName(candidate)) p.precision = candidate;
    if (grouped) {
      if (call.groupsPerPair) {  // column t(i) is pair i's document; a column no row targets is in no group
        call.ownedColumnGroups.assign(static_cast<size_t>(p.cols), -1);
        for (int64_t i = 0; i < p.rows; ++i) {
          const int32_t t = p.targets ? p.targets[i] : static_cast<int32_t>(i);
          if (t >= 0 && t < p.cols) call.ownedColumnGroups[t] = call.ownedRowGroups[i];
        }
      }
      p.rowGroups = call.ownedRowGroups.data();
      p.columnGroups = call.ownedColumnGroups.data();
    }
    validateProblem(p);  // targets distinct and in range, logScale in range: before any work is queued
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  // Every option has been read (Options runs the getters once, at its making): only now the memory.
  if (!call.cuda.x.onDevice)
    call.cuda.x.data = p.x = hostData(env, info[0], "x", p.rows * p.dim, ownInputs ? &call.ownedX : nullptr);
  if (!call.cuda.y.onDevice)
    call.cuda.y.data = p.y = hostData(env, info[1], "y", p.cols * p.dim, ownInputs ? &call.ownedY : nullptr);

  if (call.onGpu && anyTensor) {
    // Gradients stay on the device, as fp32 DeviceTensors.
    try {
      Napi::Object gradX = DeviceTensor::create(env, p.rows, p.dim, INFONCE_DTYPE_FLOAT32, call.cuda.device);
      Napi::Object gradY = DeviceTensor::create(env, p.cols, p.dim, INFONCE_DTYPE_FLOAT32, call.cuda.device);
      call.cuda.gradOnDevice = true;
      call.gradXData = static_cast<float*>(DeviceTensor::from(gradX)->data());
      call.gradYData = static_cast<float*>(DeviceTensor::from(gradY)->data());
      call.hold(DeviceTensor::from(gradX));
      call.hold(DeviceTensor::from(gradY));
      call.gradX = Napi::Persistent(gradX);
      call.gradY = Napi::Persistent(gradY);
    } catch (const Error& e) {
      throw toJsError(env, e);
    }
    return call;
  }
  Napi::Float32Array gradX = Napi::Float32Array::New(env, static_cast<size_t>(p.rows * p.dim));
  Napi::Float32Array gradY = Napi::Float32Array::New(env, static_cast<size_t>(p.cols * p.dim));
  call.gradX = Napi::Persistent(static_cast<Napi::Object>(gradX));
  call.gradY = Napi::Persistent(static_cast<Napi::Object>(gradY));
  call.gradXData = gradX.Data();
  call.gradYData = gradY.Data();
  return call;
}

// The fingerprints of the inputs read in place (0 for a copy, which nobody else can write).
std::pair<uint64_t, uint64_t> inPlaceFingerprints(const LossCall& call) {
  return {call.ownedX.inPlace ? fingerprint(call.ownedX) : 0, call.ownedY.inPlace ? fingerprint(call.ownedY) : 0};
}

// Runs the kernel on plain memory (safe off the main thread); core errors pass through as
// infonce::Error, anything else becomes one.
void execute(const LossCall& call, LossResult& result) {
  result.gradX = call.gradXData;
  result.gradY = call.gradYData;
  try {
    if (call.onGpu) contrastiveLossCuda(call.problem, call.cuda, result);
    else if (call.algorithm == Algorithm::Naive) contrastiveLossCpuNaive(call.problem, result);
    else contrastiveLossCpuFused(call.problem, result);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory, "out of host memory");
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Internal, e.what());
  }
}

Napi::Object toJs(Napi::Env env, const LossCall& call, const LossResult& r) {
  Napi::Object out = lossResultObject(env, r, call.gradX.Value(), call.gradY.Value(), call.onGpu ? "cuda" : "cpu");
  if (!call.onGpu && call.algorithm == Algorithm::Fused) {
    Napi::Object kernel = Napi::Object::New(env);
    kernel.Set("logitsCached", r.logitsCached);
    kernel.Set("tiles", double(r.tiles));
    kernel.Set("tilesSkipped", double(r.tilesSkipped));
    out.Set("kernel", kernel);
  }
  if (call.onGpu) out.Set("mainLoop", r.mainLoop);
  return out;
}

}  // namespace

Napi::Object lossResultObject(Napi::Env env, const LossResult& r, Napi::Value gradX, Napi::Value gradY,
                              const char* backend) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", r.loss);
  out.Set("gradX", gradX);
  out.Set("gradY", gradY);
  out.Set("gradLogScale", r.gradLogScale);
  Napi::Object accuracy = Napi::Object::New(env);
  accuracy.Set("row", r.accuracyRow);
  accuracy.Set("col", r.accuracyCol);
  out.Set("accuracy", accuracy);
  out.Set("meanPositiveLogit", r.meanPositiveLogit);
  out.Set("meanLogSumExp", r.meanRowLogSumExp);
  out.Set("backend", backend);
  out.Set("device", backend);  // the old name of `backend`, for one release
  if (!r.prefixes.empty()) {
    Napi::Array prefixes = Napi::Array::New(env, r.prefixes.size());
    for (size_t k = 0; k < r.prefixes.size(); ++k) {
      const PrefixResult& q = r.prefixes[k];
      Napi::Object prefix = Napi::Object::New(env);
      prefix.Set("dim", double(q.dim));
      prefix.Set("weight", q.weight);
      prefix.Set("loss", q.loss);
      Napi::Object accuracy = Napi::Object::New(env);
      accuracy.Set("row", q.accuracyRow);
      accuracy.Set("col", q.accuracyCol);
      prefix.Set("accuracy", accuracy);
      prefixes.Set(static_cast<uint32_t>(k), prefix);
    }
    out.Set("prefixes", prefixes);
  }
  return out;
}

Napi::Value contrastiveLossSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossCall call = parse(info, false);
  LossResult result;
  try {
    execute(call, result);
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  return toJs(env, call, result);
}

Napi::Value contrastiveLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<LossCall>(parse(info, true));
  auto result = std::make_shared<LossResult>();
  // Taken here, on the main thread, like the copy it replaces: a write after the call was made
  // (before or while the worker reads) is what the check must catch.
  const auto before = inPlaceFingerprints(*call);
  auto work = [call, result, before] {
    execute(*call, *result);
    const auto after = inPlaceFingerprints(*call);
    for (auto [name, changed] : {std::pair{"x", before.first != after.first}, std::pair{"y", before.second != after.second}})
      if (changed)
        throw Error(ErrorCode::InvalidArgument,
                    std::string(name) + ": written while the call read it (an array from allocateFloat32 is read in place, "
                                        "not copied: leave it alone until the promise settles); the result is refused");
  };
  return TaskWorker::queue(
      env, "infonce:contrastiveLoss", work,
      [call, result](Napi::Env env) { return static_cast<Napi::Value>(toJs(env, *call, *result)); });
}

}  // namespace infonce::bindings
