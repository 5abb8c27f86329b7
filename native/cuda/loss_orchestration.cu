#include "loss_orchestration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <type_traits>
#include <vector>

#include "failure.h"
#include "schedule/main_loop.h"
#include "tiles/loss_kernels.h"
#include "panels/panel_gradients.h"
#ifdef INFONCE_HAVE_SM90A
#include "sm90a/panel_gradients_sm90.h"
#endif
#ifdef INFONCE_HAVE_SM100A  // built whenever 100 is among the architectures, with or without 90
#include "sm100a/panel_gradients_sm100.h"
#endif
#include "row_kernels.h"

namespace infonce::cuda {
namespace {

class Stream {
 public:
  Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream"); }
  ~Stream() { cudaStreamDestroy(stream_); }
  operator cudaStream_t() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

size_t bytesOf(InfonceDtype dtype) { return dtype == INFONCE_DTYPE_FLOAT32 ? 4 : 2; }

// With INFONCE_CUDA_PROFILE=1 in the environment, the time of each phase of a call (CUDA events on
// its stream) goes to stderr: where a tuning effort should look.
class Profile {
 public:
  Profile(cudaStream_t stream, InfoncePrecision precision)
      : stream_(stream), precision_(precision), on_(std::getenv("INFONCE_CUDA_PROFILE") != nullptr) {
    if (on_) mark("start");
  }
  ~Profile() {
    for (auto& e : events_) cudaEventDestroy(e.second);
  }
  void mark(const char* name) {
    if (!on_) return;
    cudaEvent_t event;
    if (cudaEventCreate(&event) != cudaSuccess) return;
    cudaEventRecord(event, stream_);
    events_.push_back({name, event});
  }
  // A phase marked several times (a kernel of each panel) is reported once, its times summed.
  void report(const LaunchPlan& plan, int64_t rows, int64_t cols, int64_t dim, const std::string& schedule) const {
    if (!on_ || events_.size() < 2) return;
    std::vector<std::pair<std::string, float>> phases;
    for (size_t k = 1; k < events_.size(); ++k) {
      float ms = 0;
      cudaEventElapsedTime(&ms, events_[k - 1].second, events_[k].second);
      auto known = std::find_if(phases.begin(), phases.end(), [&](const auto& p) { return p.first == events_[k].first; });
      if (known == phases.end()) phases.push_back({events_[k].first, ms});
      else known->second += ms;
    }
    static const char* const precisions[] = {"fp32", "tf32", "bf16", "fp16"};
    std::string line = "infonce cuda profile (" + std::string(precisions[precision_]) + ", M " + std::to_string(rows) +
                       ", N " + std::to_string(cols) + ", D " + std::to_string(dim) + "; " + std::to_string(plan.ranges) +
                       " ranges, " +
                       std::to_string(plan.replicas) + " replicas, " + std::to_string(plan.launches) + " launches" +
                       schedule + "):";
    for (const auto& [name, ms] : phases) line += " " + name + " " + std::to_string(ms) + " ms;";
    std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  cudaStream_t stream_;
  InfoncePrecision precision_;
  bool on_;
  std::vector<std::pair<const char*, cudaEvent_t>> events_;
};

// The input on the device: the caller's pointer, or an uploaded copy of a host Float32Array.
const void* onDevice(const InfonceCudaMatrix& m, int64_t rows, int64_t dim, DeviceBuffer& copy, const char* name,
                     cudaStream_t stream) {
  if (m.onDevice) return m.data;
  copy = DeviceBuffer(sizeof(float) * rows * dim, name, stream);
  check(cudaMemcpyAsync(copy.as<void>(), m.data, sizeof(float) * rows * dim, cudaMemcpyHostToDevice, stream),
        "copying the inputs to the GPU");
  return copy.as<void>();
}

[[noreturn]] void nonFinite(const char* name, const InfonceCudaMatrix& m, const void* device, int64_t row, int64_t dim,
                            cudaStream_t stream) {
  std::vector<float> values(dim);
  if (m.onDevice) {
    DeviceBuffer converted(sizeof(float) * dim, "reading a row", stream);
    check(convertToFloat(static_cast<const char*>(device) + row * dim * bytesOf(m.dtype), m.dtype,
                         converted.as<float>(), dim, stream),
          "reading a row");
    check(cudaMemcpyAsync(values.data(), converted.as<float>(), sizeof(float) * dim, cudaMemcpyDeviceToHost, stream),
          "reading a row");
    check(cudaStreamSynchronize(stream), "reading a row");
  } else {
    const float* host = static_cast<const float*>(m.data) + row * dim;
    values.assign(host, host + dim);
  }
  int64_t column = 0;
  while (column < dim && std::isfinite(values[column])) ++column;
  const float v = column < dim ? values[column] : NAN;
  throw Failure(INFONCE_CUDA_INVALID, std::string(name) + ": expected finite values, got " +
                                          (std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) + " at row " +
                                          std::to_string(row) + ", column " + std::to_string(column));
}

// A sharded call (InfonceCudaShard): the collectives the addon supplies, each enqueued on the call's
// stream; a failure becomes INFONCE_CUDA_COLLECTIVE with the collective's own message.
class ShardExchange {
 public:
  ShardExchange(const InfonceCudaShard& shard, cudaStream_t stream) : shard_(shard), stream_(stream) {}

  int64_t globalColumns() const {
    int64_t total = 0;
    for (int r = 0; r < shard_.size; ++r) total += shard_.columnCounts[r];
    return total;
  }

  // Every rank's rows of y (`elementBytes` a value), in rank order.
  DeviceBuffer gatherColumns(const void* local, int64_t dim, size_t elementBytes) const {
    std::vector<int64_t> bytes(shard_.size);
    for (int r = 0; r < shard_.size; ++r) bytes[r] = shard_.columnCounts[r] * dim * int64_t(elementBytes);
    DeviceBuffer all(elementBytes * globalColumns() * dim, "every rank's documents", stream_);
    run("gathering every rank's documents", [&](char* error, size_t size) {
      return shard_.collectives->allGather(shard_.collectives->context, local, all.as<void>(), bytes.data(), stream_,
                                           error, size);
    });
    return all;
  }

  // The shard's column statistics made the batch's: the largest logit of each column over every
  // rank's rows, then each rank's Σ exp rescaled to it and summed (a log-sum-exp combine, in double).
  void combineColumns(float* colMax, float* colLogSum, double* colLse, int64_t n) const {
    DeviceBuffer globalMax(sizeof(float) * n, "column statistics", stream_), share(sizeof(double) * n, "column statistics", stream_);
    check(cudaMemcpyAsync(globalMax.as<void>(), colMax, sizeof(float) * n, cudaMemcpyDeviceToDevice, stream_),
          "copying the column maxima");
    allReduce("combining the column maxima", globalMax.as<void>(), n, INFONCE_CUDA_REDUCE_FLOAT32, INFONCE_CUDA_REDUCE_MAX);
    check(shareOfColumns(colLse, globalMax.as<float>(), n, share.as<double>(), stream_), "rescaling the column sums");
    allReduce("summing the column sums", share.as<void>(), n, INFONCE_CUDA_REDUCE_FLOAT64, INFONCE_CUDA_REDUCE_SUM);
    check(mergeStatistics(globalMax.as<float>(), share.as<double>(), 1, n, colMax, colLogSum, colLse, stream_),
          "merging the column statistics");
  }

  // The sum over the ranks of every rank's dL/dy (all columns), each rank keeping its own rows.
  void scatterColumnGradients(const float* all, float* own, int64_t dim) const {
    std::vector<int64_t> counts(shard_.size);
    for (int r = 0; r < shard_.size; ++r) counts[r] = shard_.columnCounts[r] * dim;
    run("summing dL/dy across the ranks", [&](char* error, size_t size) {
      return shard_.collectives->reduceScatter(shard_.collectives->context, all, own, counts.data(), stream_, error, size);
    });
  }

  // Whether any rank found a non-finite value in its x: every rank learns it together (one rank
  // failing alone would leave the others waiting in the next collective).
  int firstRankWithBadQueries(bool mine) const {
    DeviceBuffer flag(sizeof(double), "checks", stream_);
    const double value = mine ? double(shard_.size - shard_.rank) : 0.0;  // max → the lowest such rank
    check(cudaMemcpyAsync(flag.as<void>(), &value, sizeof value, cudaMemcpyHostToDevice, stream_), "checking the queries");
    allReduce("comparing the ranks' checks", flag.as<void>(), 1, INFONCE_CUDA_REDUCE_FLOAT64, INFONCE_CUDA_REDUCE_MAX);
    double out = 0;
    check(cudaMemcpyAsync(&out, flag.as<void>(), sizeof out, cudaMemcpyDeviceToHost, stream_), "checking the queries");
    check(cudaStreamSynchronize(stream_), "checking the queries");
    return out > 0 ? shard_.size - static_cast<int>(out) : -1;
  }

 private:
  void allReduce(const char* what, void* data, int64_t count, InfonceCudaReduceType type, InfonceCudaReduceOp op) const {
    run(what, [&](char* error, size_t size) {
      return shard_.collectives->allReduce(shard_.collectives->context, data, count, type, op, stream_, error, size);
    });
  }
  template <class Call>
  void run(const char* what, Call call) const {
    char error[512] = "";
    if (call(error, sizeof error) != 0) throw Failure(INFONCE_CUDA_COLLECTIVE, std::string(what) + ": " + error);
  }

  const InfonceCudaShard& shard_;
  cudaStream_t stream_;
};

// The panel gradient pass (panel_gradients.cu) instead of the tile kernel: 16-bit operands on sm_80
// and newer, and only when the caller asks for it (gpuSchedule 'panels'), until a GPU run has checked
// it against the float64 reference (it was built and checked on machines without a GPU: see README).
template <class Op, class Shape>
bool panelGradientsChosen(const InfonceCudaLossArgs& a, const cudaDeviceProp& device) {
  return a.panelGradients != 0 && sizeof(typename Op::Element) == 2 && std::is_same<Shape, LargeTiles>::value &&
         device.major >= 8;
}

template <class Op, class Shape>
void run(const InfonceCudaLossArgs& a, const cudaDeviceProp& device, InfonceDtype operandType,
         InfonceCudaLossResult& result) {
  using T = typename Op::Element;
  // A shard (a.shard) runs its rows against every rank's columns: N is the batch's, M this rank's.
  std::optional<ShardExchange> shard;
  const int64_t M = a.rows, D = a.dim, localCols = a.cols;
  const int64_t N = a.shard ? ShardExchange(*a.shard, nullptr).globalColumns() : a.cols;
  const int64_t globalRows = a.shard ? a.shard->globalRows : M;
  int statisticsBlocks = 0, gradientBlocks = 0;
  const bool panels = panelGradientsChosen<Op, Shape>(a, device);
  // The main loop: the sm_80 one for panels, unless a development switch (INFONCE_CUDA_WGMMA=1,
  // INFONCE_CUDA_TCGEN05=1, read by the bindings) requires sm_90a or sm_100a: then that loop, or an error.
  MainLoopCandidates candidates;
  candidates.panels = panels;
#ifdef INFONCE_HAVE_SM90A
  candidates.sm90aBuilt = true;
#endif
#ifdef INFONCE_HAVE_SM100A
  candidates.sm100aBuilt = true;
#endif
  candidates.major = device.major;
  candidates.minor = device.minor;
  const MainLoopChoice choice = chooseMainLoop(a.requiredLoop, candidates);
  if (!choice.refusal.empty()) throw Failure(INFONCE_CUDA_INVALID, choice.refusal + " (" + device.name + ")");
  const bool sm90 = choice.loop == INFONCE_MAIN_LOOP_SM90A;
  const bool sm100 = choice.loop == INFONCE_MAIN_LOOP_SM100A;
  result.mainLoop = choice.loop;
  if (a.rowGroups && !panels)  // the tile gradient kernel (the verified default) does not mask
    throw Failure(INFONCE_CUDA_INVALID,
                  std::string("groups: the CUDA backend masks groups only in the experimental panel schedule (gpuSchedule "
                              "'panels', precision 'bf16' or 'fp16', compute capability 8.0 or newer); ") +
                      device.name + " is " + std::to_string(device.major) + "." + std::to_string(device.minor) +
                      "; use backend 'cpu' or 'auto' (which runs calls with groups on the CPU)");
  check(statisticsOccupancy<Op, Shape>(panels, &statisticsBlocks), "querying the occupancy of the statistics pass");
  check(gradientOccupancy<Op, Shape>(&gradientBlocks), "querying the occupancy of the gradient pass");
  // (The panel schedule runs no tile gradient kernel: only the statistics pass shares this plan.)
  // (The sm_90a and sm_100a statistics kernels run one block an SM: 384 or 320 threads, ~150 KiB of
  // shared memory.)
  const int perMultiprocessor =
      sm90 || sm100 ? 1 : std::max(1, panels ? statisticsBlocks : std::min(statisticsBlocks, gradientBlocks));

  // Replicas of the accumulators let several steps share a launch when the tiles are few; each
  // costs (M + N)·D floats, so take at most 4 and at most a quarter of the card's memory. Its total,
  // not what is free now: the replica count fixes the summation order, and the result must not
  // depend on what else holds memory (when too little is free, the call fails with ERR_CUDA_OOM).
  const int64_t paddedRows = (M + Shape::shape.rows - 1) / Shape::shape.rows * Shape::shape.rows;
  const int64_t paddedCols = (N + Shape::shape.cols - 1) / Shape::shape.cols * Shape::shape.cols;
  const int64_t paddedDim = (D + 63) / 64 * 64;
  const double replicaBytes = 4.0 * double(paddedRows + paddedCols) * double(paddedDim) + 12.0 * double(M + N);
  const int memoryReplicas =
      static_cast<int>(std::min(4.0, std::max(1.0, 0.25 * double(device.totalGlobalMem) / replicaBytes)));
  LaunchPlan plan = planLaunch(M, N, D, Shape::shape, device.multiProcessorCount * perMultiprocessor, memoryReplicas);
  const int P = plan.replicas;
  PanelPlan panelPlan;
  if (panels) {
    if (a.memoryBudget < minimumPanelBudget(N))
      throw Failure(INFONCE_CUDA_INVALID, "memoryBudget: the GPU panel schedule needs at least " +
                                              std::to_string(minimumPanelBudget(N)) + " bytes (128 rows of G at cols = " +
                                              std::to_string(N) + "), got " + std::to_string(a.memoryBudget));
    panelPlan = planPanels(M, N, D, a.memoryBudget);
    plan.paddedDim = panelPlan.paddedDim;  // the panel GEMMs step D in tiles of 128 (zero padding)
  }
  const int gradientReplicas = panels ? 1 : P;

  Stream stream;
  Profile profile(stream, a.precision);
  if (a.shard) shard.emplace(*a.shard, stream);
  DeviceBuffer xCopy, yCopy, yGathered;
  const void* x = onDevice(a.x, M, D, xCopy, "the queries", stream);
  const void* y = onDevice(a.y, localCols, D, yCopy, "the documents", stream);
  const InfonceDtype xType = a.x.onDevice ? a.x.dtype : INFONCE_DTYPE_FLOAT32;
  const InfonceDtype yType = a.y.onDevice ? a.y.dtype : INFONCE_DTYPE_FLOAT32;
  InfonceCudaMatrix yMatrix = a.y;  // what a non-finite value's message reads
  if (shard) {
    yGathered = shard->gatherColumns(y, D, bytesOf(yType));
    y = yGathered.as<void>();
    yMatrix = {y, 1, yType};
    profile.mark("gather");
  }

  DeviceBuffer u(sizeof(T) * plan.paddedRows * plan.paddedDim, "the normalised queries", stream);
  DeviceBuffer v(sizeof(T) * plan.paddedCols * plan.paddedDim, "the normalised documents", stream);
  DeviceBuffer normX(sizeof(double) * M, "norms", stream), normY(sizeof(double) * N, "norms", stream);
  DeviceBuffer badRows(2 * sizeof(unsigned long long), "checks", stream);
  check(cudaMemsetAsync(badRows.as<void>(), 0xff, 2 * sizeof(unsigned long long), stream), "clearing the checks");
  check(normalizeRows(x, xType, M, D, u.as<void>(), operandType, plan.paddedRows, plan.paddedDim, normX.as<double>(),
                      badRows.as<unsigned long long>(), stream),
        "normalising the queries");
  check(normalizeRows(y, yType, N, D, v.as<void>(), operandType, plan.paddedCols, plan.paddedDim, normY.as<double>(),
                      badRows.as<unsigned long long>() + 1, stream),
        "normalising the documents");
  unsigned long long bad[2];
  check(cudaMemcpyAsync(bad, badRows.as<void>(), sizeof bad, cudaMemcpyDeviceToHost, stream), "reading the checks");
  check(cudaStreamSynchronize(stream), "normalising the inputs");
  // y is every rank's (each rank sees the same bad row); x is this rank's alone: a rank with a good x
  // learns of another's bad one here, together with it, instead of waiting in the next collective.
  const int rankWithBadQueries = shard ? shard->firstRankWithBadQueries(bad[0] != ~0ull) : -1;
  if (bad[0] != ~0ull) nonFinite("x", a.x, x, static_cast<int64_t>(bad[0]), D, stream);
  if (rankWithBadQueries >= 0)
    throw Failure(INFONCE_CUDA_INVALID, "x: rank " + std::to_string(rankWithBadQueries) +
                                            " has a non-finite value in its queries (its own error says where)");
  if (bad[1] != ~0ull) nonFinite(shard ? "y (every rank's rows in rank order)" : "y", yMatrix, y, static_cast<int64_t>(bad[1]), D, stream);
  profile.mark("normalise");

  DeviceBuffer targets(sizeof(int32_t) * M, "the targets", stream);
  if (a.targets)
    check(cudaMemcpyAsync(targets.as<void>(), a.targets, sizeof(int32_t) * M, cudaMemcpyHostToDevice, stream),
          "copying the targets");
  else
    check(identityTargets(targets.as<int32_t>(), M, stream), "writing the targets");
  DeviceBuffer rowGroups, columnGroups;
  if (a.rowGroups) {
    rowGroups = DeviceBuffer(sizeof(int32_t) * M, "the row groups", stream);
    columnGroups = DeviceBuffer(sizeof(int32_t) * N, "the column groups", stream);
    check(cudaMemcpyAsync(rowGroups.as<void>(), a.rowGroups, sizeof(int32_t) * M, cudaMemcpyHostToDevice, stream),
          "copying the row groups");
    check(cudaMemcpyAsync(columnGroups.as<void>(), a.columnGroups, sizeof(int32_t) * N, cudaMemcpyHostToDevice, stream),
          "copying the column groups");
  }
  const double rowWeight = (a.symmetric ? 0.5 : 1.0) / double(globalRows);
  const double columnWeight = a.symmetric ? 0.5 / double(globalRows) : 0.0;
  DeviceBuffer columnWeights(sizeof(float) * N, "the column weights", stream);
  check(cudaMemsetAsync(columnWeights.as<void>(), 0, sizeof(float) * N, stream), "clearing the column weights");
  DeviceBuffer allTargets;  // a shard: the columns any rank's rows target carry the column softmax
  if (shard) {
    allTargets = DeviceBuffer(sizeof(int32_t) * globalRows, "every rank's targets", stream);
    check(cudaMemcpyAsync(allTargets.as<void>(), a.shard->allTargets, sizeof(int32_t) * globalRows,
                          cudaMemcpyHostToDevice, stream),
          "copying every rank's targets");
  }
  check(markTargets(shard ? allTargets.as<int32_t>() : targets.as<int32_t>(), globalRows, columnWeights.as<float>(),
                    float(columnWeight), stream),
        "marking the target columns");

  DeviceBuffer rowMax(sizeof(float) * P * M, "row statistics", stream), rowSum(sizeof(double) * P * M, "row statistics", stream);
  DeviceBuffer colMax(sizeof(float) * P * N, "column statistics", stream), colSum(sizeof(double) * P * N, "column statistics", stream);
  DeviceBuffer positive(sizeof(float) * M, "the positives", stream);
  check(fill(rowMax.as<float>(), P * M, -INFINITY, stream), "clearing the statistics");
  check(fill(colMax.as<float>(), P * N, -INFINITY, stream), "clearing the statistics");
  check(cudaMemsetAsync(rowSum.as<void>(), 0, sizeof(double) * P * M, stream), "clearing the statistics");
  check(cudaMemsetAsync(colSum.as<void>(), 0, sizeof(double) * P * N, stream), "clearing the statistics");

  LossParams<T> params{};
  params.u = u.as<T>();
  params.v = v.as<T>();
  params.rows = M;
  params.cols = N;
  params.plan = plan;
  params.targets = targets.as<int32_t>();
  params.rowGroups = a.rowGroups ? rowGroups.as<int32_t>() : nullptr;
  params.columnGroups = a.rowGroups ? columnGroups.as<int32_t>() : nullptr;
  params.columnWeight = columnWeights.as<float>();
  params.scale = static_cast<float>(std::exp(a.logScale));
  params.rowWeight = static_cast<float>(rowWeight);
  params.symmetric = a.symmetric;
  // A switch for benchmarks only: the panel kernels' epilogues with two exponentials per logit
  // everywhere, to measure what one saves (epilogue_math.h) in the same run.
  const char* twoExponentials = std::getenv("INFONCE_CUDA_TWO_EXPONENTIALS");
  params.oneExponential = !(twoExponentials && std::string(twoExponentials) == "1");
  params.rowMax = rowMax.as<float>();
  params.rowSum = rowSum.as<double>();
  params.colMax = colMax.as<float>();
  params.colSum = colSum.as<double>();
  params.positive = positive.as<float>();
  if (sm90) {
#ifdef INFONCE_HAVE_SM90A
    if constexpr (sizeof(T) == 2) {
      std::string error;
      const cudaError_t status = launchStatisticsSm90<T>(params, stream, error);
      if (!error.empty()) throw Failure(INFONCE_CUDA_LAUNCH, "the sm_90a statistics kernel: " + error);
      check(status, "launching the sm_90a statistics pass");
    }
#endif
  } else if (sm100) {
#ifdef INFONCE_HAVE_SM100A
    if constexpr (sizeof(T) == 2) {
      std::string error;
      const cudaError_t status = launchStatisticsSm100<T>(params, stream, error);
      if (!error.empty()) throw Failure(INFONCE_CUDA_LAUNCH, "the sm_100a statistics kernel: " + error);
      check(status, "launching the sm_100a statistics pass");
    }
#endif
  } else {
    for (int launch = 0; launch < plan.launches; ++launch)
      check(launchStatistics<Op, Shape>(params, launch, panels, stream), "launching the statistics pass");
  }
  profile.mark("statistics pass");

  DeviceBuffer rowMaxMerged(sizeof(float) * M, "row statistics", stream), rowLogSum(sizeof(float) * M, "row statistics", stream);
  DeviceBuffer rowLse(sizeof(double) * M, "row statistics", stream);
  DeviceBuffer colMaxMerged(sizeof(float) * N, "column statistics", stream), colLogSum(sizeof(float) * N, "column statistics", stream);
  DeviceBuffer colLse(sizeof(double) * N, "column statistics", stream);
  check(mergeStatistics(rowMax.as<float>(), rowSum.as<double>(), P, M, rowMaxMerged.as<float>(), rowLogSum.as<float>(),
                        rowLse.as<double>(), stream),
        "merging the row statistics");
  check(mergeStatistics(colMax.as<float>(), colSum.as<double>(), P, N, colMaxMerged.as<float>(), colLogSum.as<float>(),
                        colLse.as<double>(), stream),
        "merging the column statistics");
  if (shard) {
    shard->combineColumns(colMaxMerged.as<float>(), colLogSum.as<float>(), colLse.as<double>(), N);
    profile.mark("combine");
  }
  DeviceBuffer terms(sizeof(double) * 7, "the loss terms", stream);
  check(lossTerms(targets.as<int32_t>(), positive.as<float>(), rowLse.as<double>(), colLse.as<double>(),
                  rowMaxMerged.as<float>(), colMaxMerged.as<float>(), M, terms.as<double>(), stream),
        "summing the loss");

  DeviceBuffer gradU(sizeof(float) * gradientReplicas * plan.paddedRows * plan.paddedDim, "dL/du", stream);
  DeviceBuffer gradV(sizeof(float) * gradientReplicas * plan.paddedCols * plan.paddedDim, "dL/dv", stream);
  const int64_t partialCount =
      panels ? panelPlan.logScalePartials() : int64_t(plan.launches) * plan.blocksPerLaunch();
  DeviceBuffer partials(sizeof(double) * partialCount, "dθ partials", stream);
  if (!panels) {  // the panel kernels write every element; the tile kernel accumulates from zero
    check(cudaMemsetAsync(gradU.as<void>(), 0, sizeof(float) * P * plan.paddedRows * plan.paddedDim, stream),
          "clearing dL/du");
    check(cudaMemsetAsync(gradV.as<void>(), 0, sizeof(float) * P * plan.paddedCols * plan.paddedDim, stream),
          "clearing dL/dv");
    check(cudaMemsetAsync(partials.as<void>(), 0, sizeof(double) * partialCount, stream), "clearing dθ");
  }
  params.rowMaxMerged = rowMaxMerged.as<float>();
  params.rowLogSum = rowLogSum.as<float>();
  params.rowLse = rowLse.as<double>();
  params.colMaxMerged = colMaxMerged.as<float>();
  params.colLogSum = colLogSum.as<float>();
  params.colLse = colLse.as<double>();
  params.gradU = gradU.as<float>();
  params.gradV = gradV.as<float>();
  params.logScalePartials = partials.as<double>();
  profile.mark("merge and loss");
  if (panels) {
    if constexpr (sizeof(T) == 2) {  // panelGradientsChosen: 16-bit operands only
      DeviceBuffer gradientTerms(panelPlan.gradientBytes, "the G panel", stream);
      DeviceBuffer workspace(std::max<int64_t>(panelPlan.workspaceBytes, 16), "the dU split partials", stream);
      PanelParams<T> panel{};
      panel.loss = params;
      panel.plan = panelPlan;
      panel.gradientTerms = gradientTerms.as<T>();
      panel.workspace = workspace.as<float>();
      const auto mark = [&](const char* kernel) { profile.mark(kernel); };
#ifdef INFONCE_HAVE_SM90A
      if (sm90) {
        std::string error;
        const cudaError_t status = launchPanelGradientsSm90<T>(panel, stream, mark, error);
        if (!error.empty()) throw Failure(INFONCE_CUDA_LAUNCH, "the sm_90a panel kernels: " + error);
        check(status, "launching the sm_90a panel gradient pass");
      } else
#endif
#ifdef INFONCE_HAVE_SM100A
      if (sm100) {
        std::string error;
        const cudaError_t status = launchPanelGradientsSm100<T>(panel, stream, mark, error);
        if (!error.empty()) throw Failure(INFONCE_CUDA_LAUNCH, "the sm_100a panel kernels: " + error);
        check(status, "launching the sm_100a panel gradient pass");
      } else
#endif
        check(launchPanelGradients<Op>(panel, stream, mark), "launching the panel gradient pass");
    }
  } else {
    for (int launch = 0; launch < plan.launches; ++launch)
      check(launchGradients<Op, Shape>(params, launch, stream), "launching the gradient pass");
  }
  profile.mark("gradient pass");
  check(sumDoubles(partials.as<double>(), partialCount, terms.as<double>() + 6, stream), "summing dθ");

  DeviceBuffer gradXDevice, gradYDevice, gradYAll;
  float* gradX = a.gradX;
  float* gradY = a.gradY;
  if (!a.gradOnDevice) {
    gradXDevice = DeviceBuffer(sizeof(float) * M * D, "dL/dx", stream);
    gradYDevice = DeviceBuffer(sizeof(float) * localCols * D, "dL/dy", stream);
    gradX = gradXDevice.as<float>();
    gradY = gradYDevice.as<float>();
  }
  // A shard's dL/dy covers every column, from its own rows only: summed across the ranks after the
  // normalisation backward (linear in the gradient), each rank keeping its own columns.
  if (shard) gradYAll = DeviceBuffer(sizeof(float) * N * D, "dL/dy of every column", stream);
  check(normalizationBackward(gradU.as<float>(), gradientReplicas, plan.paddedRows, plan.paddedDim, x, xType, normX.as<double>(), M,
                              D, gradX, stream),
        "the normalisation backward of x");
  check(normalizationBackward(gradV.as<float>(), gradientReplicas, plan.paddedCols, plan.paddedDim, y, yType, normY.as<double>(), N,
                              D, shard ? gradYAll.as<float>() : gradY, stream),
        "the normalisation backward of y");
  if (shard) {
    shard->scatterColumnGradients(gradYAll.as<float>(), gradY, D);
    profile.mark("scatter");
  }
  if (!a.gradOnDevice) {
    check(cudaMemcpyAsync(a.gradX, gradX, sizeof(float) * M * D, cudaMemcpyDeviceToHost, stream), "copying dL/dx");
    check(cudaMemcpyAsync(a.gradY, gradY, sizeof(float) * localCols * D, cudaMemcpyDeviceToHost, stream), "copying dL/dy");
  }
  double sums[7];
  check(cudaMemcpyAsync(sums, terms.as<void>(), sizeof sums, cudaMemcpyDeviceToHost, stream), "copying the loss");
  profile.mark("backward and copies");
  check(cudaStreamSynchronize(stream), "running the loss");
  profile.report(plan, M, N, D, panels ? ", panels of " + std::to_string(panelPlan.panelRows) + " rows × " +
                                   std::to_string(panelPlan.panels) + ", dU in " + std::to_string(panelPlan.splits) +
                                   " splits"
                             : std::string());

  const double m = double(globalRows);  // a shard's terms are its share of the batch's
  result.loss = a.symmetric ? 0.5 * (sums[0] + sums[1]) / m : sums[0] / m;
  result.accuracyRow = sums[2] / m;
  result.accuracyCol = sums[3] / m;
  result.meanPositiveLogit = sums[4] / m;
  result.meanRowLogSumExp = sums[5] / m;
  result.gradLogScale = sums[6];
}

template <class Op>
void runOperand(const InfonceCudaLossArgs& a, const cudaDeviceProp& device, InfonceDtype operandType,
                InfonceCudaLossResult& result) {
  const int bytes = static_cast<int>(sizeof(typename Op::Element));
  const int64_t large = std::max(statisticsSharedBytes(kLargeTiles, bytes), gradientSharedBytes(kLargeTiles, bytes));
  const int64_t small = std::max(statisticsSharedBytes(kSmallTiles, bytes), gradientSharedBytes(kSmallTiles, bytes));
  if (!a.forceSmallTiles && device.major >= 8 && int64_t(device.sharedMemPerBlockOptin) >= large)
    return run<Op, LargeTiles>(a, device, operandType, result);
  if (int64_t(device.sharedMemPerBlockOptin) >= small) return run<Op, SmallTiles>(a, device, operandType, result);
  throw Failure(INFONCE_CUDA_LAUNCH, std::string(device.name) + " has " +
                                        std::to_string(device.sharedMemPerBlockOptin) +
                                        " bytes of shared memory a block; the loss needs " + std::to_string(small));
}

}  // namespace

void keepPoolMemory(int device) {
  static std::mutex mutex;
  static std::vector<bool> done;
  std::lock_guard<std::mutex> lock(mutex);
  if (device < static_cast<int>(done.size()) && done[device]) return;
  if (device >= static_cast<int>(done.size())) done.resize(device + 1, false);
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
    uint64_t keep = UINT64_MAX;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  (void)cudaGetLastError();
  done[device] = true;
}

// A shard's description, checked before anything is queued (the addon builds it from what every rank
// said; a mistake here is ours, not the caller's).
void checkShard(const InfonceCudaLossArgs& a) {
  const InfonceCudaShard& s = *a.shard;
  auto refuse = [](const std::string& what) { throw Failure(INFONCE_CUDA_INVALID, "a sharded call: " + what); };
  if (!s.collectives || !s.collectives->allGather || !s.collectives->allReduce || !s.collectives->reduceScatter)
    refuse("no collectives");
  if (s.size < 1 || s.rank < 0 || s.rank >= s.size || !s.columnCounts) refuse("rank " + std::to_string(s.rank) + " of " + std::to_string(s.size));
  if (s.columnCounts[s.rank] != a.cols) refuse("cols " + std::to_string(a.cols) + " is not this rank's count " + std::to_string(s.columnCounts[s.rank]));
  if (!a.targets || !s.allTargets || s.globalRows < a.rows) refuse("the targets (global column indices) are required");
}

void contrastiveLoss(const InfonceCudaLossArgs& a, InfonceCudaLossResult& result) {
  if (a.shard) checkShard(a);
  check(cudaSetDevice(a.device), "selecting the GPU");
  keepPoolMemory(a.device);
  cudaDeviceProp device;
  check(cudaGetDeviceProperties(&device, a.device), "reading the GPU's properties");
  switch (a.precision) {
    case INFONCE_PRECISION_BF16: return runOperand<Bf16Operand>(a, device, INFONCE_DTYPE_BFLOAT16, result);
    case INFONCE_PRECISION_FP16: return runOperand<Fp16Operand>(a, device, INFONCE_DTYPE_FLOAT16, result);
    case INFONCE_PRECISION_TF32: return runOperand<Tf32x1Operand>(a, device, INFONCE_DTYPE_FLOAT32, result);
    default: return runOperand<Tf32x3Operand>(a, device, INFONCE_DTYPE_FLOAT32, result);
  }
}

}  // namespace infonce::cuda
