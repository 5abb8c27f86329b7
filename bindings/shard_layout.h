// What the ranks of a sharded loss call work out together on the host before any kernel runs,
// whichever backend then computes (the CPU kernel over MPI, the CUDA one over NCCL): that they make
// the same call, where each rank's columns sit in the batch, which columns the rows target, the
// column groups, and whether any rank refuses its part. Every step is collective: a rank never fails
// alone while the others wait in the next collective.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arguments.h"
#include "infonce.h"
#include "infonce_mpi_world.h"

namespace infonce::bindings {

// This rank's side of a call, as parsed.
struct ShardCall {
  LossProblem problem;           // rows, cols, dim and the options, this rank's (x, y unset)
  std::vector<int32_t> targets;  // global column indices, or empty: row i → this rank's column i
  std::vector<int32_t> rowGroups, columnGroups;  // this rank's; empty: none
  std::vector<int64_t> prefixDims;
  std::vector<double> prefixWeights;
  int64_t backend = 0;         // 0 the CPU, 1 CUDA: compared across ranks
  int64_t xType = 0, yType = 0;  // the inputs' InfonceDtype (a Float32Array is float32)
};

// What every sharded call reads alike (CPU or GPU): rows, cols, dim, logScale, symmetric, memoryBudget,
// targets and groups (copied: the work runs on a worker thread). TypeError/RangeError by name.
void readShardOptions(const Options& options, ShardCall& call);

// The batch as every rank sees it after layOutShard.
struct ShardLayout {
  int64_t globalRows = 0, globalCols = 0, columnOffset = 0;
  std::vector<int64_t> rowCounts, columnCounts;
  std::vector<int32_t> targets;      // this rank's rows' global columns
  std::vector<int32_t> allTargets;   // every rank's, in rank order
  std::vector<uint8_t> targetColumns;  // globalCols entries: 1 where some row targets the column
  std::vector<int32_t> columnGroups;   // the batch's columns' groups (empty without groups)
  std::vector<float> columnPositiveCounts;  // positives by group: |Q(j)| of each target column
  std::string refusal;  // this rank's own objection so far (a target out of range), for agreeOnRefusals
};

// Exchanges every rank's shape and options (ranks that disagree fail together, ERR_MPI naming it),
// then the targets and column groups. A column that two ranks' rows target fails on every rank.
ShardLayout layOutShard(const MpiWorld& world, const ShardCall& call);

// Every rank's objection (empty: none), exchanged: if any rank objects, every rank throws, the
// objecting rank with its own message (InvalidArgument), the others naming it (MpiFailed).
void agreeOnRefusals(const MpiWorld& world, const std::string& mine);

// The result's scalars (each rank's share of the batch's) summed over the ranks, in place.
void sumShares(const MpiWorld& world, LossResult& result);

}  // namespace infonce::bindings
