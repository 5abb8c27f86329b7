#include "nccl.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distributed.h"
#include "errors.h"
#include "infonce_cuda.h"
#include "worker.h"

namespace infonce::bindings {
namespace {

std::mutex stateLock;
NcclCommunicator* current = nullptr;  // the open one (at most one a process)
bool broken = false;                  // an asynchronous NCCL error aborted it

[[noreturn]] void failed(const std::string& what, NcclResult result, NcclComm comm = nullptr) {
  throw Error(ErrorCode::NcclFailed, what + ": " + ncclApi().describe(result, comm));
}

int report(char* error, size_t size, const std::string& message) {
  std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

int64_t total(const int64_t* counts, int size) {
  int64_t sum = 0;
  for (int r = 0; r < size; ++r) sum += counts[r];
  return sum;
}

bool even(const int64_t* counts, int size) {
  for (int r = 1; r < size; ++r)
    if (counts[r] != counts[0]) return false;
  return true;
}

// Uneven shards: NCCL's all-gather and reduce-scatter take equal blocks, so the ranks' blocks go as
// one group of broadcasts (all-gather) or reduces (reduce-scatter), one per rank, as NCCL's own
// documentation suggests for the "v" variants.
int allGather(void* context, const void* send, void* receive, const int64_t* bytes, void* stream, char* error, size_t size) {
  auto& c = *static_cast<NcclCommunicator*>(context);
  const NcclApi& api = ncclApi();
  NcclResult result = 0;
  if (even(bytes, c.size)) {
    result = api.allGather(send, receive, static_cast<size_t>(bytes[0]), kNcclUint8, c.comm, stream);
  } else {
    api.groupStart();
    int64_t offset = 0;
    for (int r = 0; r < c.size && result == 0; ++r) {
      char* slot = static_cast<char*>(receive) + offset;
      result = api.broadcast(r == c.rank ? send : slot, slot, static_cast<size_t>(bytes[r]), kNcclUint8, r, c.comm, stream);
      offset += bytes[r];
    }
    const NcclResult end = api.groupEnd();
    if (result == 0) result = end;
  }
  if (result != 0) return report(error, size, "ncclAllGather: " + api.describe(result, c.comm));
  c.bytesSent += static_cast<uint64_t>(total(bytes, c.size) - bytes[c.rank]);
  return 0;
}

int allReduce(void* context, void* data, int64_t count, InfonceCudaReduceType type, InfonceCudaReduceOp op, void* stream,
              char* error, size_t size) {
  auto& c = *static_cast<NcclCommunicator*>(context);
  const NcclApi& api = ncclApi();
  const int ncclType = type == INFONCE_CUDA_REDUCE_FLOAT64 ? kNcclFloat64 : kNcclFloat32;
  const NcclResult result = api.allReduce(data, data, static_cast<size_t>(count), ncclType,
                                          op == INFONCE_CUDA_REDUCE_MAX ? kNcclMax : kNcclSum, c.comm, stream);
  if (result != 0) return report(error, size, "ncclAllReduce: " + api.describe(result, c.comm));
  const int64_t elementBytes = type == INFONCE_CUDA_REDUCE_FLOAT64 ? 8 : 4;
  if (c.size > 1) c.bytesSent += static_cast<uint64_t>(2 * (c.size - 1) * count * elementBytes / c.size);
  return 0;
}

int reduceScatter(void* context, const float* send, float* receive, const int64_t* counts, void* stream, char* error,
                  size_t size) {
  auto& c = *static_cast<NcclCommunicator*>(context);
  const NcclApi& api = ncclApi();
  NcclResult result = 0;
  if (even(counts, c.size)) {
    result = api.reduceScatter(send, receive, static_cast<size_t>(counts[0]), kNcclFloat32, kNcclSum, c.comm, stream);
  } else {
    api.groupStart();
    int64_t offset = 0;
    for (int r = 0; r < c.size && result == 0; ++r) {
      result = api.reduce(send + offset, receive, static_cast<size_t>(counts[r]), kNcclFloat32, kNcclSum, r, c.comm, stream);
      offset += counts[r];
    }
    const NcclResult end = api.groupEnd();
    if (result == 0) result = end;
  }
  if (result != 0) return report(error, size, "ncclReduceScatter: " + api.describe(result, c.comm));
  c.bytesSent += static_cast<uint64_t>((total(counts, c.size) - counts[c.rank]) * 4);
  return 0;
}

struct Opening {
  int device = 0;
  bool overMpi = false;
  int rank = 0, size = 1;  // what it became
  std::string library;
};

void open(Opening& o) {
  // NCCL first: where it is missing, that is what the caller must fix, GPU or not.
  const NcclApi& api = ncclApi();
  o.library = api.versionName();
  const InfonceCudaApi& cuda = cudaApi();  // ERR_CUDA_* with the reason
  if (o.device >= cudaAvailability().devices)
    throw Error(ErrorCode::InvalidArgument, "device: expected a GPU index below " + std::to_string(cudaAvailability().devices) +
                                                ", got " + std::to_string(o.device));
  std::unique_lock<std::mutex> mpi;
  if (o.overMpi) {
    mpi = std::unique_lock<std::mutex>(mpiCallLock());
    requireMpiOpen();
  }
  auto c = std::make_unique<NcclCommunicator>();
  c->overMpi = o.overMpi;
  c->device = o.device;
  const MpiWorld& world = c->hostWorld();
  o.rank = c->rank = world.rank;
  o.size = c->size = world.size;
  // Rank 0's unique id reaches every rank over MPI (NCCL's own bootstrap then takes over).
  NcclUniqueId id{};
  if (world.rank == 0) {
    const NcclResult made = api.getUniqueId(&id);
    if (made != 0) failed("ncclGetUniqueId", made);
  }
  char error[512] = {0};
  mpiCheck(world.api->broadcast(&id, sizeof id, 0, error, sizeof error), error);
  const InfonceCudaStatus selected = cuda.selectDevice(o.device, error, sizeof error);
  throwCudaStatus(selected, error);
  const NcclResult started = api.commInitRank(&c->comm, world.size, id, world.rank);
  if (started != 0) failed("ncclCommInitRank (rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ", GPU " +
                               std::to_string(o.device) + ")",
                           started);
  std::lock_guard<std::mutex> lock(stateLock);
  if (current) {  // two opens raced: the first stays
    api.commDestroy(c->comm);
    throw Error(ErrorCode::InvalidArgument, "ncclCommunicator: this process has an open NCCL communicator already (close() it first)");
  }
  current = c.release();
  broken = false;
}

}  // namespace

const MpiWorld& NcclCommunicator::hostWorld() const { return overMpi ? mpiWorld() : soloWorld(); }

NcclCommunicator& openNcclCommunicator() {
  std::lock_guard<std::mutex> lock(stateLock);
  if (broken)
    throw Error(ErrorCode::NcclFailed, "the NCCL communicator was aborted after an NCCL error (its message came with the call that failed)");
  if (!current) throw Error(ErrorCode::NcclFailed, "comm: the NCCL communicator is closed (make one with ncclCommunicator())");
  return *current;
}

void checkNcclHealth(NcclCommunicator& c) {
  const NcclApi& api = ncclApi();
  NcclResult async = 0;
  const NcclResult asked = api.commGetAsyncError(c.comm, &async);
  if (asked == 0 && async == 0) return;
  const std::string message = api.describe(asked != 0 ? asked : async, c.comm);
  api.commAbort(c.comm);  // frees it: close() then has nothing to destroy
  std::lock_guard<std::mutex> lock(stateLock);
  c.comm = nullptr;
  broken = true;
  throw Error(ErrorCode::NcclFailed, "NCCL reported an error and the communicator was aborted: " + message);
}

InfonceCudaCollectives ncclCollectives(NcclCommunicator& c) { return {&c, allGather, allReduce, reduceScatter}; }

Napi::Value ncclOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throwTypeError(env, "device: expected a GPU index (an integer >= 0), got " + describe(info[0]));
  const double device = info[0].As<Napi::Number>().DoubleValue();
  if (!(device >= 0 && device <= 1023 && device == static_cast<int>(device)))
    throwRangeError(env, "device: expected a GPU index (an integer >= 0), got " + std::to_string(device));
  {
    std::lock_guard<std::mutex> lock(stateLock);
    if (current) throwRangeError(env, "ncclCommunicator: this process has an open NCCL communicator already (close() it first)");
  }
  auto opening = std::make_shared<Opening>();
  opening->device = static_cast<int>(device);
  opening->overMpi = info[1].ToBoolean().Value();
  return TaskWorker::queue(env, "infonce:ncclCommunicator", [opening] { open(*opening); }, [opening](Napi::Env env) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("rank", opening->rank);
    out.Set("size", opening->size);
    out.Set("device", opening->device);
    out.Set("library", opening->library);
    return static_cast<Napi::Value>(out);
  });
}

Napi::Value ncclBytesSent(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(stateLock);
  return Napi::Number::New(info.Env(), current ? static_cast<double>(current->bytesSent.load()) : 0.0);
}

Napi::Value ncclClose(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(stateLock);
  if (current) {
    if (current->inFlight > 0)
      throwRangeError(info.Env(), "comm.close(): a distributed call on this NCCL communicator has not settled yet (await it first)");
    if (current->comm) ncclApi().commDestroy(current->comm);
    delete current;
    current = nullptr;
  }
  broken = false;
  return info.Env().Undefined();
}

NcclUse::NcclUse() : communicator_(&openNcclCommunicator()) { ++communicator_->inFlight; }
NcclUse::~NcclUse() { --communicator_->inFlight; }

}  // namespace infonce::bindings
