// The sharded loss. Rank r holds X_r (its queries) and Y_r (its documents); the global columns are
// the ranks' Y_r concatenated in rank order, and targets are global column indices. One call, on a
// worker thread (MPI started with MPI_THREAD_SERIALIZED; one distributed call at a time):
//   1. all-gather each rank's shape and options: ranks that disagree fail together, naming it;
//   2. all-gather the targets (a column two ranks' rows target is an error on every rank), Y and the
//      column groups (shard_layout.h: the steps the GPU path shares);
//   3. the fused kernel's pass 1 over X_r × Y; its column statistics (max, Σ exp) all-reduced, a
//      log-sum-exp combine (max, then the sums rescaled to it); pass 2: dX_r complete, dY partial;
//   4. reduce-scatter dY to the ranks' own rows; all-reduce the scalars (loss, dθ, accuracies).
// Nothing of MPI enters the kernels: they see a problem with globalRows and a reduceColumns hook.
#include "distributed.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "arguments.h"
#include "errors.h"
#include "infonce.h"
#include "infonce_mpi_world.h"
#include "loss.h"
#include "owned_copy.h"
#include "shard_layout.h"
#include "worker.h"

namespace infonce::bindings {

namespace {
bool closed = false;
}  // namespace

std::mutex& mpiCallLock() {
  static std::mutex oneAtATime;
  return oneAtATime;
}

void requireMpiOpen() {
  if (closed) throw Error(ErrorCode::MpiUnavailable, "comm: the communicator was closed (MPI is finalised)");
}

namespace {

struct DistributedCall : ShardCall {
  std::vector<float> x, y;
  std::vector<float> gradX, gradY;
  LossResult result;
};

void run(DistributedCall& c) {
  std::lock_guard<std::mutex> lock(mpiCallLock());
  requireMpiOpen();
  const MpiWorld& w = mpiWorld();
  const InfonceMpiApi& mpi = *w.api;
  char error[512] = {0};
  const LossProblem& local = c.problem;
  const int64_t D = local.dim;

  // 1–2. Shapes and options, targets, column groups (shard_layout.h); then Y, every rank's.
  ShardLayout s = layOutShard(w, c);
  const int64_t N = s.globalCols;
  std::vector<float> yAll(static_cast<size_t>(N * D));
  std::vector<int64_t> bytes(w.size);
  for (int r = 0; r < w.size; ++r) bytes[r] = s.columnCounts[r] * D * static_cast<int64_t>(sizeof(float));
  mpiCheck(mpi.allgather(c.y.data(), bytes[w.rank], yAll.data(), bytes.data(), error, sizeof error), error);

  // 3. The kernel on this rank's rows against every column.
  LossProblem p = local;
  p.x = c.x.data();
  p.y = yAll.data();
  p.cols = N;
  p.targets = s.targets.data();
  p.globalRows = s.globalRows;
  p.targetColumns = s.targetColumns.data();
  if (!c.rowGroups.empty()) {
    p.rowGroups = c.rowGroups.data();
    p.columnGroups = s.columnGroups.data();
  }
  if (local.groupPositives) {
    p.columnPositiveCounts = s.columnPositiveCounts.data();
    p.reducePositiveColumns = [&](float* max, double* sum, int64_t cols) {
      mpiCheck(mpi.allreduce(max, cols, INFONCE_MPI_FLOAT32, INFONCE_MPI_MAX, error, sizeof error), error);
      mpiCheck(mpi.allreduce(sum, cols, INFONCE_MPI_FLOAT64, INFONCE_MPI_SUM, error, sizeof error), error);
    };
  }
  std::vector<float> globalMax(static_cast<size_t>(N));
  p.reduceColumns = [&](float* max, double* sum, int64_t cols) {
    std::memcpy(globalMax.data(), max, sizeof(float) * cols);
    mpiCheck(mpi.allreduce(globalMax.data(), cols, INFONCE_MPI_FLOAT32, INFONCE_MPI_MAX, error, sizeof error), error);
    for (int64_t j = 0; j < cols; ++j) {
      sum[j] = std::isinf(max[j]) ? 0.0 : sum[j] * std::exp(static_cast<double>(max[j]) - globalMax[j]);
      max[j] = globalMax[j];
    }
    mpiCheck(mpi.allreduce(sum, cols, INFONCE_MPI_FLOAT64, INFONCE_MPI_SUM, error, sizeof error), error);
  };
  // A rank that would fail alone (a bad value, a NaN) would leave the others waiting in the first
  // collective of the kernel: every rank checks its part first, and all fail together.
  std::string failure = s.refusal;
  if (failure.empty()) {
    try {
      validateProblem(p);
      auto nonFinite = [&](const char* name, const std::vector<float>& m) {
        for (size_t k = 0; k < m.size() && failure.empty(); ++k)
          if (!std::isfinite(m[k]))
            failure = std::string(name) + ": expected finite values, got " + (std::isnan(m[k]) ? "NaN" : m[k] > 0 ? "Infinity" : "-Infinity") +
                      " at row " + std::to_string(k / D) + ", column " + std::to_string(k % D);
      };
      nonFinite("x", c.x);
      nonFinite("y", c.y);
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  agreeOnRefusals(w, failure);
  std::vector<float> gradYAll(static_cast<size_t>(N * D));
  c.result.gradX = c.gradX.data();
  c.result.gradY = gradYAll.data();
  contrastiveLossCpuFused(p, c.result);

  // 4. dY to its rows' ranks; the scalars summed (each rank's is its share of the batch's).
  std::vector<int64_t> counts(w.size);
  for (int r = 0; r < w.size; ++r) counts[r] = s.columnCounts[r] * D;
  mpiCheck(mpi.reduceScatter(gradYAll.data(), c.gradY.data(), counts.data(), error, sizeof error), error);
  sumShares(w, c.result);
}

}  // namespace

Napi::Value mpiOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed) throw toJsError(env, Error(ErrorCode::MpiUnavailable, "MPI was finalised by comm.close(); it cannot start again in this process"));
  try {
    const MpiWorld& w = mpiWorld();
    Napi::Object out = Napi::Object::New(env);
    out.Set("rank", w.rank);
    out.Set("size", w.size);
    out.Set("library", w.api->library);
    return out;
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
}

Napi::Value mpiBytesSent(const Napi::CallbackInfo& info) {
  try {
    return Napi::Number::New(info.Env(), static_cast<double>(mpiWorld().api->bytesSent()));
  } catch (const Error& e) {
    throw toJsError(info.Env(), e);
  }
}

Napi::Value mpiClose(const Napi::CallbackInfo& info) {
  try {
    std::lock_guard<std::mutex> lock(mpiCallLock());
    if (!closed) mpiWorld().api->finalize();
    closed = true;
  } catch (const Error& e) {
    throw toJsError(info.Env(), e);
  }
  return info.Env().Undefined();
}

// distributedContrastiveLoss(x, y, { rows, cols, dim, logScale?, symmetric?, targets?, groups?,
// precision?, threads?, memoryBudget?, matryoshka? }): rows and cols this rank's.
Napi::Value distributedContrastiveLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<DistributedCall>();
  LossProblem& p = call->problem;
  const Options options(env, info[2], "options",
                        {"rows", "cols", "dim", "logScale", "symmetric", "targets", "groups", "precision", "threads",
                         "memoryBudget", "matryoshka", "positives", "comm"});
  readShardOptions(options, *call);
  p.threads = static_cast<int>(options.optionalInteger("threads", 1, 1024).value_or(0));
  p.precision = options.optionalChoice("precision", {"fp32", "bf16"}).value_or("fp32") == "bf16" ? Precision::Bf16 : Precision::Fp32;
  p.groupPositives = options.optionalChoice("positives", {"target", "groups"}).value_or("target") == "groups";
  if (p.groupPositives && call->rowGroups.empty())
    throwRangeError(env, "positives: 'groups' takes the positives from the groups; give groups ({ rows, cols } of this rank)");
  if (options.has("matryoshka") && !options.get("matryoshka").IsUndefined()) {
    MatryoshkaOption m = parseMatryoshkaOption(env, options.get("matryoshka"));
    call->prefixDims = std::move(m.dims);
    call->prefixWeights = std::move(m.weights);
    p.prefixDims = call->prefixDims.data();
    p.prefixWeights = call->prefixWeights.data();
    p.prefixCount = static_cast<int>(call->prefixDims.size());
  }
  // Every option read; now the inputs, copied (the work runs on a worker thread).
  call->x = ownedCopy(env, float32Array(env, info[0], "x", p.rows * p.dim, "rows × dim of this rank"), "x");
  call->y = ownedCopy(env, float32Array(env, info[1], "y", p.cols * p.dim, "cols × dim of this rank"), "y");
  p.x = call->x.data();
  p.y = call->y.data();
  call->gradX.assign(static_cast<size_t>(p.rows * p.dim), 0.0f);
  call->gradY.assign(static_cast<size_t>(p.cols * p.dim), 0.0f);
  return TaskWorker::queue(env, "infonce:distributedContrastiveLoss", [call] { run(*call); }, [call](Napi::Env env) {
    Napi::Float32Array gradX = Napi::Float32Array::New(env, call->gradX.size());
    std::memcpy(gradX.Data(), call->gradX.data(), sizeof(float) * call->gradX.size());
    Napi::Float32Array gradY = Napi::Float32Array::New(env, call->gradY.size());
    std::memcpy(gradY.Data(), call->gradY.data(), sizeof(float) * call->gradY.size());
    return static_cast<Napi::Value>(lossResultObject(env, call->result, gradX, gradY, "cpu"));
  });
}

}  // namespace infonce::bindings
