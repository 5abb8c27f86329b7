// The sharded loss. Rank r holds X_r (its queries) and Y_r (its documents); the global columns are
// the ranks' Y_r concatenated in rank order, and targets are global column indices. One call, on a
// worker thread (MPI started with MPI_THREAD_SERIALIZED; one distributed call at a time):
//   1. all-gather each rank's shape and options: ranks that disagree fail together, naming it;
//   2. all-gather Y (and the column groups); all-reduce the target columns (a column two ranks'
//      rows target is an error on every rank);
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

struct DistributedCall {
  LossProblem problem;  // rows, cols: this rank's; the kernel's problem is made in run()
  std::vector<float> x, y;
  std::vector<int32_t> targets;  // global column indices, or empty: row i → this rank's column i
  std::vector<int32_t> rowGroups, columnGroups;  // this rank's; empty: none
  std::vector<int64_t> prefixDims;
  std::vector<double> prefixWeights;
  std::vector<float> gradX, gradY;
  LossResult result;
};

// What every rank must agree on, and its shape (exchanged first).
struct Agreement {
  int64_t rows, cols, dim;
  int64_t symmetric, precision, grouped, positives, prefixCount;
  double logScale;
  uint64_t prefixHash;
};

uint64_t hashPrefixes(const DistributedCall& c) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (int64_t d : c.prefixDims) mix(static_cast<uint64_t>(d));
  for (double w : c.prefixWeights) {
    uint64_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    mix(bits);
  }
  return h;
}

// |Q(j)| for each global column a row targets (0 elsewhere): the rows of j's group, plus j's target
// row when that row is in another group (as prepareProblem counts them for one process).
std::vector<float> positiveCountsOfColumns(const std::vector<int32_t>& rowGroups, const std::vector<int32_t>& targets,
                                           const std::vector<int32_t>& columnGroups, int64_t N) {
  std::unordered_map<int32_t, int64_t> rowsOf;
  for (int32_t g : rowGroups)
    if (g >= 0) ++rowsOf[g];
  std::vector<float> counts(static_cast<size_t>(N), 0.0f);
  for (size_t i = 0; i < targets.size(); ++i) {
    const int32_t g = rowGroups[i], t = targets[i], h = columnGroups[t];
    const bool targetInGroup = g >= 0 && h == g;
    counts[t] = static_cast<float>((h >= 0 ? rowsOf[h] : 0) + (targetInGroup ? 0 : 1));
  }
  return counts;
}

void run(DistributedCall& c) {
  std::lock_guard<std::mutex> lock(mpiCallLock());
  requireMpiOpen();
  const MpiWorld& w = mpiWorld();
  const InfonceMpiApi& mpi = *w.api;
  char error[512] = {0};
  const LossProblem& local = c.problem;
  const int64_t D = local.dim;

  // 1. Shapes and options, every rank's.
  const Agreement mine{local.rows, local.cols, D, local.symmetric, static_cast<int64_t>(local.precision),
                       c.rowGroups.empty() ? 0 : 1, local.groupPositives ? 1 : 0, static_cast<int64_t>(c.prefixDims.size()),
                       local.logScale, hashPrefixes(c)};
  std::vector<Agreement> all(w.size);
  std::vector<int64_t> agreementBytes(w.size, sizeof(Agreement));
  mpiCheck(mpi.allgather(&mine, sizeof(Agreement), all.data(), agreementBytes.data(), error, sizeof error), error);
  const Agreement& first = all[0];
  for (int r = 1; r < w.size; ++r) {
    const Agreement& a = all[r];
    auto disagree = [&](const std::string& what, const std::string& theirs, const std::string& zeros) {
      throw Error(ErrorCode::MpiFailed, "the ranks disagree on " + what + ": rank " + std::to_string(r) + " has " + theirs +
                                            ", rank 0 " + zeros + " (every rank must make the same call)");
    };
    if (a.dim != first.dim) disagree("dim", std::to_string(a.dim), std::to_string(first.dim));
    if (a.symmetric != first.symmetric) disagree("symmetric", a.symmetric ? "true" : "false", first.symmetric ? "true" : "false");
    if (a.precision != first.precision)
      disagree("precision", precisionName(static_cast<Precision>(a.precision)), precisionName(static_cast<Precision>(first.precision)));
    if (a.logScale != first.logScale) disagree("logScale", std::to_string(a.logScale), std::to_string(first.logScale));
    if (a.grouped != first.grouped) disagree("groups", a.grouped ? "groups" : "none", first.grouped ? "groups" : "none");
    if (a.positives != first.positives)
      disagree("positives", a.positives ? "'groups'" : "'target'", first.positives ? "'groups'" : "'target'");
    if (a.prefixCount != first.prefixCount || a.prefixHash != first.prefixHash)
      disagree("matryoshka", std::to_string(a.prefixCount) + " prefixes", std::to_string(first.prefixCount) + " (or other dims or weights)");
  }
  int64_t M = 0, N = 0, columnOffset = 0;
  std::vector<int64_t> columnCounts(w.size);
  for (int r = 0; r < w.size; ++r) {
    if (r == w.rank) columnOffset = N;
    M += all[r].rows;
    N += all[r].cols;
    columnCounts[r] = all[r].cols;
  }
  if (N > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::InvalidArgument, "cols: the ranks' documents add up to " + std::to_string(N) + ", above 2147483647");

  // 2. Y and the column groups, every rank's, in rank order.
  std::vector<float> yAll(static_cast<size_t>(N * D));
  std::vector<int64_t> bytes(w.size);
  for (int r = 0; r < w.size; ++r) bytes[r] = columnCounts[r] * D * static_cast<int64_t>(sizeof(float));
  mpiCheck(mpi.allgather(c.y.data(), bytes[w.rank], yAll.data(), bytes.data(), error, sizeof error), error);
  std::vector<int32_t> columnGroupsAll;
  if (!c.rowGroups.empty()) {
    columnGroupsAll.resize(static_cast<size_t>(N));
    for (int r = 0; r < w.size; ++r) bytes[r] = columnCounts[r] * static_cast<int64_t>(sizeof(int32_t));
    mpiCheck(mpi.allgather(c.columnGroups.data(), bytes[w.rank], columnGroupsAll.data(), bytes.data(), error, sizeof error), error);
  }
  std::vector<int32_t> targets(static_cast<size_t>(local.rows));
  for (int64_t i = 0; i < local.rows; ++i) targets[i] = c.targets.empty() ? static_cast<int32_t>(columnOffset + i) : c.targets[i];
  std::vector<int64_t> targeted(static_cast<size_t>(N), 0);
  int64_t outOfRange = -1;
  for (int64_t i = 0; i < local.rows; ++i) {
    if (targets[i] < 0 || targets[i] >= N) outOfRange = outOfRange < 0 ? i : outOfRange;
    else ++targeted[targets[i]];
  }
  mpiCheck(mpi.allreduce(targeted.data(), N, INFONCE_MPI_INT64, INFONCE_MPI_SUM, error, sizeof error), error);
  if (outOfRange >= 0)
    throw Error(ErrorCode::InvalidArgument, "targets[" + std::to_string(outOfRange) + "]: expected a global column index in [0, " +
                                                std::to_string(N) + ") (the ranks' documents in rank order), got " +
                                                std::to_string(targets[outOfRange]));
  std::vector<uint8_t> targetColumns(static_cast<size_t>(N), 0);
  for (int64_t j = 0; j < N; ++j) {
    if (targeted[j] > 1)
      throw Error(ErrorCode::MpiFailed, "targets: global column " + std::to_string(j) + " is the target of " + std::to_string(targeted[j]) +
                                            " rows across the ranks; each row needs its own positive column");
    targetColumns[j] = targeted[j] > 0;
  }
  // Positives by group: |Q(j)| of every target column counts every rank's rows of j's group (and j's
  // target row when that is in another group), so every rank's row groups and targets are needed.
  std::vector<float> columnPositiveCounts;
  if (local.groupPositives) {
    std::vector<int32_t> rowGroupsAll(static_cast<size_t>(M)), targetsAll(static_cast<size_t>(M));
    std::vector<int64_t> rowBytes(w.size);
    for (int r = 0; r < w.size; ++r) rowBytes[r] = all[r].rows * static_cast<int64_t>(sizeof(int32_t));
    mpiCheck(mpi.allgather(c.rowGroups.data(), rowBytes[w.rank], rowGroupsAll.data(), rowBytes.data(), error, sizeof error), error);
    mpiCheck(mpi.allgather(targets.data(), rowBytes[w.rank], targetsAll.data(), rowBytes.data(), error, sizeof error), error);
    columnPositiveCounts = positiveCountsOfColumns(rowGroupsAll, targetsAll, columnGroupsAll, N);
  }

  // 3. The kernel on this rank's rows against every column.
  LossProblem p = local;
  p.y = yAll.data();
  p.cols = N;
  p.targets = targets.data();
  p.globalRows = M;
  p.targetColumns = targetColumns.data();
  if (!c.rowGroups.empty()) {
    p.rowGroups = c.rowGroups.data();
    p.columnGroups = columnGroupsAll.data();
  }
  if (local.groupPositives) {
    p.columnPositiveCounts = columnPositiveCounts.data();
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
  // collective of the kernel: every rank checks its part first, and all fail together, with the
  // first failing rank's message.
  std::string failure;
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
  constexpr int64_t kMessage = 384;
  std::vector<char> messages(static_cast<size_t>(kMessage * w.size), 0);
  std::vector<char> own(kMessage, 0);
  std::snprintf(own.data(), kMessage, "%s", failure.c_str());
  std::vector<int64_t> messageBytes(w.size, kMessage);
  mpiCheck(mpi.allgather(own.data(), kMessage, messages.data(), messageBytes.data(), error, sizeof error), error);
  for (int r = 0; r < w.size; ++r)
    if (messages[r * kMessage] != 0) {
      const std::string message(messages.data() + r * kMessage);
      if (r == w.rank) throw Error(ErrorCode::InvalidArgument, message);
      throw Error(ErrorCode::MpiFailed, "rank " + std::to_string(r) + " refused its part of the call: " + message);
    }
  std::vector<float> gradYAll(static_cast<size_t>(N * D));
  c.result.gradX = c.gradX.data();
  c.result.gradY = gradYAll.data();
  contrastiveLossCpuFused(p, c.result);

  // 4. dY to its rows' ranks; the scalars summed (each rank's is its share of the batch's).
  std::vector<int64_t> counts(w.size);
  for (int r = 0; r < w.size; ++r) counts[r] = columnCounts[r] * D;
  mpiCheck(mpi.reduceScatter(gradYAll.data(), c.gradY.data(), counts.data(), error, sizeof error), error);
  LossResult& r = c.result;
  std::vector<double> scalars = {r.loss, r.gradLogScale, r.accuracyRow, r.accuracyCol, r.meanPositiveLogit, r.meanRowLogSumExp};
  for (const PrefixResult& q : r.prefixes) {
    scalars.push_back(q.loss);
    scalars.push_back(q.accuracyRow);
    scalars.push_back(q.accuracyCol);
  }
  mpiCheck(mpi.allreduce(scalars.data(), static_cast<int64_t>(scalars.size()), INFONCE_MPI_FLOAT64, INFONCE_MPI_SUM, error, sizeof error), error);
  r.loss = scalars[0];
  r.gradLogScale = scalars[1];
  r.accuracyRow = scalars[2];
  r.accuracyCol = scalars[3];
  r.meanPositiveLogit = scalars[4];
  r.meanRowLogSumExp = scalars[5];
  for (size_t k = 0; k < r.prefixes.size(); ++k) {
    r.prefixes[k].loss = scalars[6 + 3 * k];
    r.prefixes[k].accuracyRow = scalars[7 + 3 * k];
    r.prefixes[k].accuracyCol = scalars[8 + 3 * k];
  }
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
  constexpr int64_t kMax = 2147483647;
  p.rows = options.integer("rows", 1, kMax);
  p.dim = options.integer("dim", 1, kMax);
  p.cols = options.optionalInteger("cols", 1, kMax).value_or(p.rows);
  p.logScale = options.optionalNumber("logScale").value_or(kDefaultLogScale);
  p.symmetric = options.optionalBoolean("symmetric").value_or(true);
  p.threads = static_cast<int>(options.optionalInteger("threads", 1, 1024).value_or(0));
  p.memoryBudget = options.optionalInteger("memoryBudget", 0, int64_t(1) << 53).value_or(p.memoryBudget);
  p.precision = options.optionalChoice("precision", {"fp32", "bf16"}).value_or("fp32") == "bf16" ? Precision::Bf16 : Precision::Fp32;
  if (options.has("targets") && !options.get("targets").IsUndefined())
    call->targets = ownedCopy(env, int32Array(env, options.get("targets"), "targets", p.rows, "rows (global column indices)"), "targets");
  else if (p.cols < p.rows)
    throwRangeError(env, "cols: without targets, row i's positive is this rank's column i: expected cols >= rows = " +
                             std::to_string(p.rows) + ", got " + std::to_string(p.cols));
  if (options.has("groups") && !options.get("groups").IsUndefined()) {
    const Napi::Value value = options.get("groups");
    if (!value.IsObject() || value.IsArray() || value.IsTypedArray())
      throwTypeError(env, "groups: expected { rows: Int32Array, cols: Int32Array } (this rank's rows' and columns' groups), got " + describe(value));
    const Options groups(env, value, "groups", {"rows", "cols"});
    call->rowGroups = ownedCopy(env, int32Array(env, groups.get("rows"), "groups.rows", p.rows, "rows"), "groups.rows");
    call->columnGroups = ownedCopy(env, int32Array(env, groups.get("cols"), "groups.cols", p.cols, "cols"), "groups.cols");
  }
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
