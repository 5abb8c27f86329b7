#include "shard_layout.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "errors.h"
#include "owned_copy.h"

namespace infonce::bindings {
namespace {

// What every rank must agree on, and its shape (exchanged first).
struct Agreement {
  int64_t rows, cols, dim;
  int64_t symmetric, precision, grouped, positives, prefixCount;
  double logScale;
  uint64_t prefixHash;
  int64_t backend, xType, yType;
};

uint64_t hashPrefixes(const ShardCall& c) {
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

const char* dtypeWord(int64_t dtype) { return dtype == 1 ? "bfloat16" : dtype == 2 ? "float16" : "float32"; }

std::vector<Agreement> agree(const MpiWorld& w, const ShardCall& c) {
  const LossProblem& p = c.problem;
  const Agreement mine{p.rows, p.cols, p.dim, p.symmetric, static_cast<int64_t>(p.precision), c.rowGroups.empty() ? 0 : 1,
                       p.groupPositives ? 1 : 0, static_cast<int64_t>(c.prefixDims.size()), p.logScale, hashPrefixes(c),
                       c.backend, c.xType, c.yType};
  std::vector<Agreement> all(w.size);
  std::vector<int64_t> bytes(w.size, sizeof(Agreement));
  char error[512] = {0};
  mpiCheck(w.api->allgather(&mine, sizeof(Agreement), all.data(), bytes.data(), error, sizeof error), error);
  const Agreement& first = all[0];
  for (int r = 1; r < w.size; ++r) {
    const Agreement& a = all[r];
    auto disagree = [&](const std::string& what, const std::string& theirs, const std::string& zeros) {
      throw Error(ErrorCode::MpiFailed, "the ranks disagree on " + what + ": rank " + std::to_string(r) + " has " + theirs +
                                            ", rank 0 " + zeros + " (every rank must make the same call)");
    };
    if (a.backend != first.backend) disagree("the backend", a.backend ? "the GPU" : "the CPU", first.backend ? "the GPU" : "the CPU");
    if (a.dim != first.dim) disagree("dim", std::to_string(a.dim), std::to_string(first.dim));
    if (a.xType != first.xType) disagree("x's dtype", dtypeWord(a.xType), dtypeWord(first.xType));
    if (a.yType != first.yType) disagree("y's dtype", dtypeWord(a.yType), dtypeWord(first.yType));
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
  return all;
}

// Every rank's `count[r]` int32s of `mine`, in rank order.
std::vector<int32_t> gatherInts(const MpiWorld& w, const int32_t* mine, const std::vector<int64_t>& counts) {
  int64_t total = 0;
  std::vector<int64_t> bytes(w.size);
  for (int r = 0; r < w.size; ++r) {
    bytes[r] = counts[r] * static_cast<int64_t>(sizeof(int32_t));
    total += counts[r];
  }
  std::vector<int32_t> all(static_cast<size_t>(total));
  char error[512] = {0};
  mpiCheck(w.api->allgather(mine, bytes[w.rank], all.data(), bytes.data(), error, sizeof error), error);
  return all;
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
    const int32_t g = rowGroups[i], t = targets[i];
    if (t < 0 || t >= N) continue;  // refused by its rank (agreeOnRefusals)
    const int32_t h = columnGroups[t];
    const bool targetInGroup = g >= 0 && h == g;
    counts[t] = static_cast<float>((h >= 0 ? rowsOf[h] : 0) + (targetInGroup ? 0 : 1));
  }
  return counts;
}

}  // namespace

void readShardOptions(const Options& options, ShardCall& call) {
  const Napi::Env env = options.env();
  LossProblem& p = call.problem;
  constexpr int64_t kMax = 2147483647;
  p.rows = options.integer("rows", 1, kMax);
  p.dim = options.integer("dim", 1, kMax);
  p.cols = options.optionalInteger("cols", 1, kMax).value_or(p.rows);
  p.logScale = options.optionalNumber("logScale").value_or(kDefaultLogScale);
  p.symmetric = options.optionalBoolean("symmetric").value_or(true);
  p.memoryBudget = options.optionalInteger("memoryBudget", 0, int64_t(1) << 53).value_or(p.memoryBudget);
  if (options.has("targets") && !options.get("targets").IsUndefined())
    call.targets = ownedCopy(env, int32Array(env, options.get("targets"), "targets", p.rows, "rows (global column indices)"), "targets");
  else if (p.cols < p.rows)
    throwRangeError(env, "cols: without targets, row i's positive is this rank's column i: expected cols >= rows = " +
                             std::to_string(p.rows) + ", got " + std::to_string(p.cols));
  if (options.has("groups") && !options.get("groups").IsUndefined()) {
    const Napi::Value value = options.get("groups");
    if (!value.IsObject() || value.IsArray() || value.IsTypedArray())
      throwTypeError(env, "groups: expected { rows: Int32Array, cols: Int32Array } (this rank's rows' and columns' groups), got " + describe(value));
    const Options groups(env, value, "groups", {"rows", "cols"});
    call.rowGroups = ownedCopy(env, int32Array(env, groups.get("rows"), "groups.rows", p.rows, "rows"), "groups.rows");
    call.columnGroups = ownedCopy(env, int32Array(env, groups.get("cols"), "groups.cols", p.cols, "cols"), "groups.cols");
  }
}

ShardLayout layOutShard(const MpiWorld& w, const ShardCall& c) {
  const std::vector<Agreement> all = agree(w, c);
  const LossProblem& local = c.problem;
  ShardLayout s;
  s.rowCounts.resize(w.size);
  s.columnCounts.resize(w.size);
  for (int r = 0; r < w.size; ++r) {
    if (r == w.rank) s.columnOffset = s.globalCols;
    s.globalRows += all[r].rows;
    s.globalCols += all[r].cols;
    s.rowCounts[r] = all[r].rows;
    s.columnCounts[r] = all[r].cols;
  }
  if (s.globalCols > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::InvalidArgument, "cols: the ranks' documents add up to " + std::to_string(s.globalCols) + ", above 2147483647");
  const int64_t N = s.globalCols;

  s.targets.resize(static_cast<size_t>(local.rows));
  for (int64_t i = 0; i < local.rows; ++i) s.targets[i] = c.targets.empty() ? static_cast<int32_t>(s.columnOffset + i) : c.targets[i];
  for (int64_t i = 0; i < local.rows && s.refusal.empty(); ++i)
    if (s.targets[i] < 0 || s.targets[i] >= N)
      s.refusal = "targets[" + std::to_string(i) + "]: expected a global column index in [0, " + std::to_string(N) +
                  ") (the ranks' documents in rank order), got " + std::to_string(s.targets[i]);
  s.allTargets = gatherInts(w, s.targets.data(), s.rowCounts);
  // Every rank counts the same gathered targets, so a column targeted twice fails on every rank alike.
  std::vector<int64_t> targeted(static_cast<size_t>(N), 0);
  for (int32_t t : s.allTargets)
    if (t >= 0 && t < N) ++targeted[t];
  s.targetColumns.assign(static_cast<size_t>(N), 0);
  for (int64_t j = 0; j < N; ++j) {
    if (targeted[j] > 1)
      throw Error(ErrorCode::MpiFailed, "targets: global column " + std::to_string(j) + " is the target of " + std::to_string(targeted[j]) +
                                            " rows across the ranks; each row needs its own positive column");
    s.targetColumns[j] = targeted[j] > 0;
  }
  if (!c.rowGroups.empty()) s.columnGroups = gatherInts(w, c.columnGroups.data(), s.columnCounts);
  // Positives by group: |Q(j)| of every target column counts every rank's rows of j's group (and j's
  // target row when that is in another group), so every rank's row groups are needed.
  if (local.groupPositives)
    s.columnPositiveCounts = positiveCountsOfColumns(gatherInts(w, c.rowGroups.data(), s.rowCounts), s.allTargets, s.columnGroups, N);
  return s;
}

void agreeOnRefusals(const MpiWorld& w, const std::string& mine) {
  constexpr int64_t kMessage = 384;
  std::vector<char> messages(static_cast<size_t>(kMessage * w.size), 0);
  std::vector<char> own(kMessage, 0);
  std::snprintf(own.data(), kMessage, "%s", mine.c_str());
  std::vector<int64_t> bytes(w.size, kMessage);
  char error[512] = {0};
  mpiCheck(w.api->allgather(own.data(), kMessage, messages.data(), bytes.data(), error, sizeof error), error);
  for (int r = 0; r < w.size; ++r)
    if (messages[r * kMessage] != 0) {
      const std::string message(messages.data() + r * kMessage);
      if (r == w.rank) throw Error(ErrorCode::InvalidArgument, message);
      throw Error(ErrorCode::MpiFailed, "rank " + std::to_string(r) + " refused its part of the call: " + message);
    }
}

void sumShares(const MpiWorld& w, LossResult& r) {
  std::vector<double> scalars = {r.loss, r.gradLogScale, r.accuracyRow, r.accuracyCol, r.meanPositiveLogit, r.meanRowLogSumExp};
  for (const PrefixResult& q : r.prefixes) {
    scalars.push_back(q.loss);
    scalars.push_back(q.accuracyRow);
    scalars.push_back(q.accuracyCol);
  }
  char error[512] = {0};
  mpiCheck(w.api->allreduce(scalars.data(), static_cast<int64_t>(scalars.size()), INFONCE_MPI_FLOAT64, INFONCE_MPI_SUM, error, sizeof error), error);
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

}  // namespace infonce::bindings
