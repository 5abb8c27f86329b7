// The sharded loss on GPUs (distributedContrastiveLoss with an NCCL communicator): the host-side
// agreements as on the CPU path (shard_layout.h, over MPI or the world of one), then the CUDA
// backend's sharded call, whose gather of Y, column-statistics combine and scatter of dY go through
// the communicator's NCCL collectives on the call's stream. Experimental: no GPU run has checked it.
#include "distributed_gpu.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arguments.h"
#include "device_tensor.h"
#include "distributed.h"
#include "errors.h"
#include "infonce_cuda.h"
#include "loss.h"
#include "nccl.h"
#include "owned_copy.h"
#include "shard_layout.h"
#include "worker.h"

namespace infonce::bindings {
namespace {

struct GpuShardCall : ShardCall {
  std::unique_ptr<NcclUse> use;  // the communicator, marked in use until the call is over
  CudaLossCall cuda;
  std::vector<float> hostX, hostY;  // Float32Array inputs, copied (read on a worker thread)
  // The DeviceTensor inputs and the gradients, pinned until the call is over: a tensor the caller
  // drops would otherwise be collected, and its memory freed, while the GPU still reads it.
  Napi::ObjectReference x, y, gradX, gradY;
  TensorHolds holds;
  float* gradXData = nullptr;
  float* gradYData = nullptr;
  std::vector<float> hostGradX, hostGradY;  // the gradients of Float32Array inputs
  LossResult result;
};

// x or y: a DeviceTensor on the communicator's GPU of rows × dim, or a Float32Array of that length.
CudaMatrix matrix(Napi::Env env, const Napi::Value& value, const char* name, const char* rowsName, int64_t rows, int64_t dim,
                  int device, std::vector<float>& copy, Napi::ObjectReference& pin, GpuShardCall& call) {
  CudaMatrix m;
  if (DeviceTensor* tensor = DeviceTensor::from(value)) {
    if (tensor->disposed()) throwRangeError(env, std::string(name) + ": the DeviceTensor has been disposed");
    if (tensor->rows() != rows || tensor->cols() != dim)
      throwRangeError(env, std::string(name) + ": expected a DeviceTensor of " + rowsName + " × dim = " + std::to_string(rows) + " × " +
                               std::to_string(dim) + ", got " + std::to_string(tensor->rows()) + " × " + std::to_string(tensor->cols()));
    if (tensor->device() != device)
      throwRangeError(env, std::string(name) + ": expected a DeviceTensor on the communicator's GPU " + std::to_string(device) +
                               ", got one on GPU " + std::to_string(tensor->device()));
    m.data = tensor->data();
    m.onDevice = true;
    m.dtype = tensor->dtype();
    call.holds.hold(tensor);
    pin = Napi::Persistent(value.As<Napi::Object>());
    return m;
  }
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, std::string(name) + ": expected a DeviceTensor or a Float32Array (" + rowsName + " × dim of this rank), got " +
                            describe(value));
  copy = ownedCopy(env, float32Array(env, value, name, rows * dim, std::string(rowsName) + " × dim of this rank"), name);
  m.data = copy.data();
  return m;
}

void run(GpuShardCall& c) {
  NcclCommunicator& nc = c.use->communicator();
  std::unique_lock<std::mutex> mpi;
  if (nc.overMpi) {
    mpi = std::unique_lock<std::mutex>(mpiCallLock());
    requireMpiOpen();
  }
  const MpiWorld& w = nc.hostWorld();
  ShardLayout s = layOutShard(w, c);
  LossProblem p = c.problem;
  p.targets = s.targets.data();
  p.globalRows = s.globalRows;
  if (!c.rowGroups.empty()) {
    p.rowGroups = c.rowGroups.data();
    p.columnGroups = s.columnGroups.data();
  }
  // Checked as the batch (targets are global columns); the inputs' values are checked on the GPU,
  // where every rank learns together of a rank's non-finite x.
  std::string failure = s.refusal;
  if (failure.empty()) {
    try {
      LossProblem batch = p;
      batch.cols = s.globalCols;
      validateProblem(batch);
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  agreeOnRefusals(w, failure);
  const InfonceCudaCollectives collectives = ncclCollectives(nc);
  const InfonceCudaShard shard{&collectives, w.rank, w.size, s.columnCounts.data(), s.globalRows, s.allTargets.data()};
  c.result.gradX = c.gradXData;
  c.result.gradY = c.gradYData;
  try {
    contrastiveLossCuda(p, c.cuda, c.result, &shard);
  } catch (const Error&) {
    checkNcclHealth(nc);  // an asynchronous NCCL error behind the failure: the communicator is aborted, and that is the error
    throw;
  }
  checkNcclHealth(nc);
  sumShares(w, c.result);
}

}  // namespace

Napi::Value ncclDistributedContrastiveLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<GpuShardCall>();
  try {
    call->use = std::make_unique<NcclUse>();
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  const int device = call->use->communicator().device;
  LossProblem& p = call->problem;
  const Options options(env, info[2], "options",
                        {"rows", "cols", "dim", "logScale", "symmetric", "targets", "groups", "precision", "memoryBudget",
                         "gpuSchedule", "matryoshka", "positives", "threads", "comm"});
  readShardOptions(options, *call);
  if (options.has("matryoshka") && !options.get("matryoshka").IsUndefined())
    throwRangeError(env, "matryoshka: the sharded GPU loss does not run Matryoshka prefixes; use an MPI communicator with Float32Arrays");
  if (options.optionalChoice("positives", {"target", "groups"}).value_or("target") == "groups")
    throwRangeError(env, "positives: the sharded GPU loss does not take positives from groups; use an MPI communicator with Float32Arrays");
  if (options.has("threads") && !options.get("threads").IsUndefined())
    throwRangeError(env, "threads: a CPU option; an NCCL communicator runs the loss on its GPU");
  const std::string schedule = options.optionalChoice("gpuSchedule", {"tiles", "panels"}).value_or("tiles");
  call->cuda.panelGradients = schedule == "panels";
  call->cuda.device = device;
  // Every option read; now the inputs (a Float32Array is copied: the work runs on a worker thread).
  call->cuda.x = matrix(env, info[0], "x", "rows", p.rows, p.dim, device, call->hostX, call->x, *call);
  call->cuda.y = matrix(env, info[1], "y", "cols", p.cols, p.dim, device, call->hostY, call->y, *call);
  call->xType = call->cuda.x.dtype;
  call->yType = call->cuda.y.dtype;
  const InfonceDtype dtype = call->cuda.x.dtype;
  const std::string precision =
      options.optionalChoice("precision", {"fp32", "tf32", "bf16", "fp16"})
          .value_or(dtype == INFONCE_DTYPE_BFLOAT16 ? "bf16" : dtype == INFONCE_DTYPE_FLOAT16 ? "fp16" : "fp32");
  for (Precision candidate : kPrecisions)
    if (precision == precisionName(candidate)) p.precision = candidate;
  if (!call->rowGroups.empty() && (!call->cuda.panelGradients || (precision != "bf16" && precision != "fp16")))
    throwRangeError(env, "groups: the CUDA backend masks groups only in the experimental panel schedule (gpuSchedule: 'panels' "
                         "with precision 'bf16' or 'fp16'); use an MPI communicator with Float32Arrays");
  call->backend = 1;
  try {
    if (call->cuda.x.onDevice || call->cuda.y.onDevice) {  // gradients stay on the GPU, as fp32 DeviceTensors
      Napi::Object gradX = DeviceTensor::create(env, p.rows, p.dim, INFONCE_DTYPE_FLOAT32, device);
      Napi::Object gradY = DeviceTensor::create(env, p.cols, p.dim, INFONCE_DTYPE_FLOAT32, device);
      call->cuda.gradOnDevice = true;
      call->gradXData = static_cast<float*>(DeviceTensor::from(gradX)->data());
      call->gradYData = static_cast<float*>(DeviceTensor::from(gradY)->data());
      call->holds.hold(DeviceTensor::from(gradX));
      call->holds.hold(DeviceTensor::from(gradY));
      call->gradX = Napi::Persistent(gradX);
      call->gradY = Napi::Persistent(gradY);
    } else {
      call->hostGradX.assign(static_cast<size_t>(p.rows * p.dim), 0.0f);
      call->hostGradY.assign(static_cast<size_t>(p.cols * p.dim), 0.0f);
      call->gradXData = call->hostGradX.data();
      call->gradYData = call->hostGradY.data();
    }
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  return TaskWorker::queue(env, "infonce:distributedContrastiveLoss", [call] { run(*call); }, [call](Napi::Env env) {
    Napi::Value gradX, gradY;
    if (call->cuda.gradOnDevice) {
      gradX = call->gradX.Value();
      gradY = call->gradY.Value();
    } else {
      Napi::Float32Array x = Napi::Float32Array::New(env, call->hostGradX.size());
      std::memcpy(x.Data(), call->hostGradX.data(), sizeof(float) * call->hostGradX.size());
      Napi::Float32Array y = Napi::Float32Array::New(env, call->hostGradY.size());
      std::memcpy(y.Data(), call->hostGradY.data(), sizeof(float) * call->hostGradY.size());
      gradX = x;
      gradY = y;
    }
    Napi::Object out = lossResultObject(env, call->result, gradX, gradY, "cuda");
    out.Set("mainLoop", call->result.mainLoop);
    return static_cast<Napi::Value>(out);
  });
}

}  // namespace infonce::bindings
