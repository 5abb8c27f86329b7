// What every backend shares about a loss problem: its validation and the names of its precisions.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "infonce.h"

namespace infonce {
namespace {

std::string number(int64_t v) { return std::to_string(v); }

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

}  // namespace

const char* precisionName(Precision precision) {
  switch (precision) {
    case Precision::Tf32: return "tf32";
    case Precision::Bf16: return "bf16";
    case Precision::Fp16: return "fp16";
    default: return "fp32";
  }
}

void validateProblem(const LossProblem& p) {
  if (p.rows < 1) invalid("rows: expected an integer >= 1, got " + number(p.rows));
  if (p.dim < 1) invalid("dim: expected an integer >= 1, got " + number(p.dim));
  if (p.cols < p.rows)
    invalid("cols: expected at least rows (" + number(p.rows) + ": every query needs its positive among the "
            "documents), got " + number(p.cols));
  if (p.cols > std::numeric_limits<int32_t>::max())
    invalid("cols: expected at most 2147483647 (targets are 32-bit), got " + number(p.cols));
  if (!std::isfinite(p.logScale) || p.logScale > kMaxLogScale)
    invalid("logScale: expected a finite number <= ln(1e4) = 9.2103 (the logit scale exp(logScale) at most 10000), got " +
            std::to_string(p.logScale));
  if (p.threads < 0 || p.threads > 1024) invalid("threads: expected 0 (auto) to 1024, got " + number(p.threads));
  if ((p.rowGroups == nullptr) != (p.columnGroups == nullptr))
    invalid("groups: expected groups for both the rows and the columns, or none");
  if (p.globalRows != 0 && p.globalRows < p.rows)
    throw Error(ErrorCode::Internal, "a shard's globalRows is below its rows");
  if (p.globalRows != 0 && p.groupPositives && (!p.columnPositiveCounts || !p.reducePositiveColumns))
    throw Error(ErrorCode::Internal, "a shard with positives by group needs columnPositiveCounts and reducePositiveColumns");
  if (p.groupPositives && !p.rowGroups)
    invalid("positives: 'groups' takes the positives from the groups; give groups (a group per pair, or { rows, cols })");
  if (p.prefixCount < 0 || (p.prefixCount > 0 && (!p.prefixDims || !p.prefixWeights)))
    throw Error(ErrorCode::Internal, "matryoshka: prefixCount without dims and weights");
  for (int k = 0; k < p.prefixCount; ++k) {
    const int64_t d = p.prefixDims[k];
    if (d < 1 || d > p.dim)
      invalid("matryoshka.dims[" + number(k) + "]: expected a prefix length in [1, dim = " + number(p.dim) + "], got " +
              number(d));
    if (k > 0 && d <= p.prefixDims[k - 1])
      invalid("matryoshka.dims[" + number(k) + "]: expected dims strictly increasing, got " + number(d) + " after " +
              number(p.prefixDims[k - 1]));
    const double w = p.prefixWeights[k];
    if (!(std::isfinite(w) && w > 0))
      invalid("matryoshka.weights[" + number(k) + "]: expected a finite number > 0, got " + std::to_string(w));
  }
  if (p.prefixCount > 0 && p.gradientFilter > 0)
    invalid("gradientFilter: not available with matryoshka (the filter judges one prefix's tile; leave it 0)");
  if (p.targets) {
    std::vector<int32_t> rowOfColumn(static_cast<size_t>(p.cols), -1);
    for (int64_t i = 0; i < p.rows; ++i) {
      const int32_t t = p.targets[i];
      if (t < 0 || t >= p.cols)
        invalid("targets[" + number(i) + "]: expected a column index in [0, " + number(p.cols) + "), got " + number(t));
      if (rowOfColumn[t] >= 0)
        invalid("targets[" + number(i) + "]: column " + number(t) + " is already the target of row " +
                number(rowOfColumn[t]) + "; each row needs its own positive column");
      rowOfColumn[t] = static_cast<int32_t>(i);
    }
  }
}

}  // namespace infonce
