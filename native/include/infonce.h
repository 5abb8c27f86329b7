// The header of the loss for the bindings: the shapes of a contrastive-loss problem, its parameters'
// defaults and limits, its result, the error type, and the CPU backends' entry points (the CUDA
// backend's are in infonce_cuda.h; the bindings choose between them). Nothing here knows Node.js.
//
// The function every backend computes is written out in the README ("The loss"): row-normalise X (M×D)
// and Y (N×D), S = exp(θ)·U·Vᵀ, softmax cross-entropy along rows (and columns, if symmetric) with
// targets t(i), and the gradients w.r.t. X, Y and θ, all in one call.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace infonce {

// Error codes double as the `code` property of the JavaScript error the bindings throw.
enum class ErrorCode {
  InvalidArgument,  // a value is out of range or inconsistent (RangeError in JS)
  OutOfMemory,      // a host allocation failed
  CudaNotBuilt,     // this build has no CUDA backend
  CudaUnavailable,  // the CUDA backend could not be loaded (no driver, driver too old, ...)
  CudaNoDevice,     // the driver is there but reports no usable GPU
  CudaOutOfMemory,  // a device allocation failed
  CudaLaunch,       // a kernel launch or a CUDA call failed
  MpiUnavailable,   // the MPI backend is not built, or MPI could not be loaded or initialised
  MpiFailed,        // a collective failed, or the ranks disagree on a call
  NcclUnavailable,  // NCCL (libnccl.so.2) could not be loaded, or is too old
  NcclFailed,       // an NCCL call failed (the communicator's start, or a collective of a sharded GPU call)
  Internal,
};

const char* errorCodeName(ErrorCode code);  // "ERR_INVALID_ARG_VALUE", "ERR_CUDA_OOM", ...
// Every ErrorCode, for the addon's list of codes (lib/error-codes.ts is checked against it).
inline constexpr ErrorCode kErrorCodes[] = {ErrorCode::InvalidArgument, ErrorCode::OutOfMemory,  ErrorCode::CudaNotBuilt,
                                            ErrorCode::CudaUnavailable, ErrorCode::CudaNoDevice, ErrorCode::CudaOutOfMemory,
                                            ErrorCode::CudaLaunch,      ErrorCode::MpiUnavailable, ErrorCode::MpiFailed,
                                            ErrorCode::NcclUnavailable, ErrorCode::NcclFailed, ErrorCode::Internal};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

enum class CpuIsa { Auto, Avx512, Avx2, Portable };

// The loss's parameters, each with one home (the bindings export them to TypeScript).
constexpr double kDefaultLogScale = 2.6592600369327779;  // ln(1/0.07): CLIP's initial temperature, kept by the cpt paper
// exp(θ) above 10⁴ leaves fp32 logits too coarse (an ulp of S grows past 10⁻³) for a meaningful
// loss; CLIP clamps the scale at 100.
constexpr double kMaxLogScale = 9.2103403719761836;  // ln(10⁴)

// How the products are computed; accumulation is always fp32. The CPU runs Fp32 and Bf16 (operands
// rounded to bf16; AVX512-BF16 dot products where the CPU has them), the GPU all four (TF32 and fp16
// on tensor cores; Fp32 there is 3xTF32).
enum class Precision { Fp32, Tf32, Bf16, Fp16 };
constexpr Precision kPrecisions[] = {Precision::Fp32, Precision::Tf32, Precision::Bf16, Precision::Fp16};
const char* precisionName(Precision precision);  // "fp32", "tf32", "bf16", "fp16": the names users pass

// Where the inputs and outputs of one loss call live. All matrices are dense and row-major.
struct LossProblem {
  const float* x = nullptr;        // queries, rows × dim
  const float* y = nullptr;        // documents, cols × dim (cols ≥ rows; extra rows are shared negatives)
  const int32_t* targets = nullptr;  // rows entries, each a distinct column of y; null means t(i) = i
  // False-negative masking (both null, or both set): logit (i, j) with j ≠ t(i) and
  // rowGroups[i] = columnGroups[j] ≥ 0 leaves the row's and the column's softmax (a duplicate of
  // query i's positive, or query i's own text among the documents, is then no negative). A negative
  // group is no group.
  const int32_t* rowGroups = nullptr;     // rows entries
  const int32_t* columnGroups = nullptr;  // cols entries
  // Several positives per query: with groups, (i, j) sharing a group is a positive of row i (and row
  // i one of column j) instead of masked. Each row's loss is then rowLSE_i minus the mean logit of its
  // positives P(i) = {t(i)} ∪ {j : same group} (SupCon's "out" form), each target column's likewise
  // over Q(j) = {i : t(i) = j} ∪ {i : same group}. Needs the groups.
  bool groupPositives = false;
  int64_t rows = 0;                // M
  int64_t cols = 0;                // N
  int64_t dim = 0;                 // D
  double logScale = 0;             // θ; logits are multiplied by exp(θ)
  bool symmetric = true;           // add the column-direction cross-entropy (the paper's loss)
  int threads = 0;                 // 0: one per hardware thread
  CpuIsa isa = CpuIsa::Auto;       // CPU micro-kernel family (Auto: the best this CPU has)
  Precision precision = Precision::Fp32;
  // Bytes the fused kernel may spend keeping S between the passes (skipping its recompute);
  // below what S needs (about 4·M·N), it recomputes. 0 disables the cache.
  int64_t memoryBudget = int64_t(1) << 30;
  // Skip the dX/dY products of a tile whose largest M·|G| (a softmax probability) is below this.
  // 0 (the default) is exact.
  double gradientFilter = 0;
  // Matryoshka (nested) dimensions: L = Σₖ prefixWeights[k]·L(x[:, :prefixDims[k]], y[:, :prefixDims[k]]),
  // each prefix normalised on its own (README, "Matryoshka dimensions"). prefixCount 0 is the plain loss.
  // Dims strictly increasing, each in [1, dim]; weights finite and > 0. Coordinates beyond the last prefix
  // get no gradient.
  const int64_t* prefixDims = nullptr;
  const double* prefixWeights = nullptr;
  int prefixCount = 0;
  // A shard of a larger batch (infonce/distributed): this process holds `rows` of the batch's
  // `globalRows` queries and every column. The loss and its gradients are this shard's share of the
  // whole batch's (the 1/M is the global M; the ranks' results add up to the one-process loss).
  // `targetColumns` (cols entries) marks the columns that any rank's row targets; `reduceColumns`,
  // called between the passes with each column's max and Σ exp(S − max) over this shard's rows,
  // makes them the whole batch's (a log-sum-exp combine across the ranks). 0 / null: not sharded.
  int64_t globalRows = 0;
  const uint8_t* targetColumns = nullptr;
  std::function<void(float* columnMax, double* columnSum, int64_t cols)> reduceColumns;
  // With positives by group, a shard also needs each target column's |Q(j)| over every rank's rows
  // (`columnPositiveCounts`, cols entries, 0 for a column no row targets), and the target columns'
  // sum and largest logit over their positive rows made the whole batch's between the passes
  // (`reducePositiveColumns`: a plain sum and max across the ranks).
  const float* columnPositiveCounts = nullptr;
  std::function<void(float* positiveMax, double* positiveSum, int64_t cols)> reducePositiveColumns;
};

// One Matryoshka prefix's share of a result (LossResult::prefixes).
struct PrefixResult {
  int64_t dim = 0;
  double weight = 1;
  double loss = 0;  // the prefix's own loss, before its weight
  double accuracyRow = 0, accuracyCol = 0;
};

// Written by the backend. gradX and gradY are caller-owned buffers of rows×dim and cols×dim floats.
struct LossResult {
  float* gradX = nullptr;
  float* gradY = nullptr;
  double loss = 0;
  double gradLogScale = 0;
  double accuracyRow = 0;          // fraction of rows whose positive has the largest logit in the row
  double accuracyCol = 0;          // same along columns (each positive column picks its query)
  double meanPositiveLogit = 0;    // mean of S_{i,t(i)}
  double meanRowLogSumExp = 0;     // mean of the row log-sum-exp: with the above, how sharp the softmax is
  // What the fused CPU kernel did (for benchmarks): S kept between the passes, tiles whose
  // gradient products the filter skipped, out of all tiles.
  bool logitsCached = false;
  int64_t tilesSkipped = 0, tiles = 0;
  // The GPU's main loop that ran: "tiles", or the panel schedule's "sm80", "sm90a", "sm100a".
  std::string mainLoop;
  // With Matryoshka prefixes: each prefix's loss and accuracies, in the order of the dims. Then `loss`
  // is Σ weight·loss over them and the accuracies and mean logits are those of the largest prefix.
  std::vector<PrefixResult> prefixes;
};

// Checks what the bindings cannot see cheaply in a type check: targets distinct and in range, shapes
// and logScale in range. Throws Error(InvalidArgument) naming the argument. Called once, by whoever
// builds the problem (the bindings, before any work is queued); the backends trust it and check only
// that the inputs are finite, as they read them.
void validateProblem(const LossProblem& problem);

// Both CPU kernels take a validated problem and fill `result`; they throw Error.
void contrastiveLossCpuFused(const LossProblem& problem, LossResult& result);
void contrastiveLossCpuNaive(const LossProblem& problem, LossResult& result);

// What the CPU offers, for diagnostics and for tests that run every micro-kernel family.
struct CpuInfo {
  bool avx512 = false;   // AVX-512 F/BW/DQ/VL
  bool avx2 = false;     // AVX2 + FMA
  bool avx512bf16 = false;
  int hardwareThreads = 1;
  const char* selectedIsa = "portable";  // what Auto resolves to
};
CpuInfo cpuInfo();
bool cpuIsaSupported(CpuIsa isa);
const char* cpuIsaName(CpuIsa isa);

}  // namespace infonce
