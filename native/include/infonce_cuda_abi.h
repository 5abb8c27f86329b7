/* The C interface between the CPU addon and the CUDA backend (infonce_cuda.so), which the addon
 * opens with dlopen on the first request for a GPU. Plain C types only: the two sides may be built
 * by different compilers, and a C++ exception must never cross this line. Every function returns an
 * InfonceCudaStatus and, on failure, writes a message into `error` (at most `errorSize` bytes). */
#ifndef INFONCE_CUDA_ABI_H
#define INFONCE_CUDA_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INFONCE_CUDA_ABI_VERSION 5

typedef enum {
  INFONCE_CUDA_OK = 0,
  INFONCE_CUDA_NO_DEVICE = 1,      /* the driver works but there is no usable GPU */
  INFONCE_CUDA_NO_DRIVER = 2,      /* no driver, or a driver too old for this CUDA runtime */
  INFONCE_CUDA_OUT_OF_MEMORY = 3,  /* a device allocation failed */
  INFONCE_CUDA_LAUNCH = 4,         /* a kernel launch or another CUDA call failed */
  INFONCE_CUDA_INVALID = 5,        /* an argument is out of range (e.g. non-finite input) */
  INFONCE_CUDA_COLLECTIVE = 6,     /* a sharded call's collective failed (InfonceCudaCollectives) */
} InfonceCudaStatus;

/* Element types of tensors and of the tensor-core operands. */
typedef enum {
  INFONCE_DTYPE_FLOAT32 = 0,
  INFONCE_DTYPE_BFLOAT16 = 1,
  INFONCE_DTYPE_FLOAT16 = 2,
} InfonceDtype;

/* How the products S = U·Vᵀ, G·V and Gᵀ·U are computed. Accumulation is always fp32. */
typedef enum {
  INFONCE_PRECISION_FP32 = 0,  /* fp32 inputs as 3xTF32 (big·big + big·small + small·big): fp32 accuracy */
  INFONCE_PRECISION_TF32 = 1,  /* one TF32 product: 10-bit mantissas, ~3x faster than 3xTF32 */
  INFONCE_PRECISION_BF16 = 2,  /* normalised rows rounded to bf16 */
  INFONCE_PRECISION_FP16 = 3,  /* normalised rows rounded to fp16 (|u| ≤ 1, so no overflow) */
} InfoncePrecision;

/* The code that multiplies: the tile kernels, or the panel schedule on one of its main loops. */
typedef enum {
  INFONCE_MAIN_LOOP_AUTO = 0,    /* in a request: the package's own choice */
  INFONCE_MAIN_LOOP_TILES = 1,   /* the tile kernels (the verified default) */
  INFONCE_MAIN_LOOP_SM80 = 2,    /* panels on mma.sync + ldmatrix + cp.async (8.0 and newer) */
  INFONCE_MAIN_LOOP_SM90A = 3,   /* panels on wgmma + TMA (9.0 only; in development) */
  INFONCE_MAIN_LOOP_SM100A = 4,  /* panels on tcgen05 + TMEM (10.0 only; in development) */
} InfonceMainLoop;

typedef struct {
  char name[256];
  int major, minor;                /* compute capability */
  int multiprocessors;
  size_t totalMemory, freeMemory;
  int driverVersion, runtimeVersion;  /* e.g. 13000 for 13.0 */
} InfonceCudaDeviceInfo;

/* A matrix argument: on the host (fp32 only) or already on the device (any dtype). */
typedef struct {
  const void* data;
  int onDevice;
  InfonceDtype dtype;
} InfonceCudaMatrix;

/* What a sharded call (infonce/distributed over NCCL) exchanges, supplied by the addon: each function
 * enqueues its collective on `stream` (a cudaStream_t) over device memory and returns 0, or non-zero
 * with a message in `error`. The backend never sees NCCL: only these three operations. */
typedef enum { INFONCE_CUDA_REDUCE_SUM = 0, INFONCE_CUDA_REDUCE_MAX = 1 } InfonceCudaReduceOp;
typedef enum { INFONCE_CUDA_REDUCE_FLOAT32 = 0, INFONCE_CUDA_REDUCE_FLOAT64 = 1 } InfonceCudaReduceType;
typedef struct {
  void* context;
  /* Every rank's `send` (bytes[rank] bytes), concatenated in rank order into `receive` (bytes[r] from rank r). */
  int (*allGather)(void* context, const void* send, void* receive, const int64_t* bytes, void* stream, char* error,
                   size_t errorSize);
  /* In place: the element-wise sum or max over the ranks of `count` elements. */
  int (*allReduce)(void* context, void* data, int64_t count, InfonceCudaReduceType type, InfonceCudaReduceOp op,
                   void* stream, char* error, size_t errorSize);
  /* The element-wise sum over the ranks of `send` (Σ counts[r] floats); rank r keeps its counts[r] in `receive`. */
  int (*reduceScatter)(void* context, const float* send, float* receive, const int64_t* counts, void* stream,
                       char* error, size_t errorSize);
} InfonceCudaCollectives;

/* A shard of a larger batch: this process holds `rows` of the batch's `globalRows` queries and `cols`
 * of its columns (the ranks' documents in rank order: columnCounts). The backend gathers the columns,
 * combines the column statistics across the ranks between the passes (max, then the rescaled sums)
 * and scatters dL/dy back to each rank's own rows; its loss, dθ and accuracies are this shard's share
 * (the ranks' shares add up to the whole batch's). */
typedef struct {
  const InfonceCudaCollectives* collectives;
  int rank, size;
  const int64_t* columnCounts;     /* host, size entries */
  int64_t globalRows;
  const int32_t* allTargets;       /* host, globalRows entries: every rank's rows' targets (global columns) */
} InfonceCudaShard;

typedef struct {
  int device;
  InfonceCudaMatrix x, y;          /* rows × dim and cols × dim, row-major */
  const int32_t* targets;          /* host memory, rows entries, or NULL for t(i) = i */
  const int32_t* rowGroups;        /* host memory, rows entries, or NULL: no false-negative masking */
  const int32_t* columnGroups;     /* host memory, cols entries; set together with rowGroups (panel schedule only) */
  int64_t rows, cols, dim;
  double logScale;
  int symmetric;
  InfoncePrecision precision;
  float* gradX;                    /* fp32, rows × dim: host memory unless gradOnDevice */
  float* gradY;                    /* fp32, cols × dim */
  int gradOnDevice;
  int forceSmallTiles;             /* tests: use the tile configuration of GPUs with 64 KiB of shared memory */
  int panelGradients;              /* experimental: the panel gradient pass (16-bit precisions, sm_80+) */
  int64_t memoryBudget;            /* bytes for the panel schedule's 16-bit G buffer */
  InfonceMainLoop requiredLoop;    /* in development: AUTO, or SM90A / SM100A, which runs or fails with INVALID */
  /* NULL, or a shard (then `targets` are global column indices, required; `columnGroups` has the
   * global columns' groups; `cols` and gradY are this rank's). */
  const InfonceCudaShard* shard;
} InfonceCudaLossArgs;

typedef struct {
  double loss, gradLogScale, accuracyRow, accuracyCol, meanPositiveLogit, meanRowLogSumExp;
  InfonceMainLoop mainLoop;        /* the loop that ran */
} InfonceCudaLossResult;

typedef struct {
  int abiVersion;
  /* Counts the usable GPUs; fails with NO_DRIVER or NO_DEVICE and says why. */
  InfonceCudaStatus (*deviceCount)(int* count, char* error, size_t errorSize);
  InfonceCudaStatus (*deviceInfo)(int device, InfonceCudaDeviceInfo* info, char* error, size_t errorSize);
  InfonceCudaStatus (*allocate)(int device, size_t bytes, void** pointer, char* error, size_t errorSize);
  InfonceCudaStatus (*release)(int device, void* pointer, char* error, size_t errorSize);
  /* fp32 host ⇄ device tensor of `dtype` (converted on the device). */
  InfonceCudaStatus (*upload)(int device, void* destination, InfonceDtype dtype, const float* source, size_t count,
                              char* error, size_t errorSize);
  InfonceCudaStatus (*download)(int device, float* destination, const void* source, InfonceDtype dtype, size_t count,
                                char* error, size_t errorSize);
  InfonceCudaStatus (*contrastiveLoss)(const InfonceCudaLossArgs* args, InfonceCudaLossResult* result, char* error,
                                       size_t errorSize);
  /* Makes `device` the calling thread's GPU (before a library such as NCCL that uses the current device). */
  InfonceCudaStatus (*selectDevice)(int device, char* error, size_t errorSize);
  /* Checks the emulated tensor-core product (the sm_75 path) against the real one on this GPU. */
  InfonceCudaStatus (*selfTest)(int device, char* report, size_t reportSize);
  /* What the library was built with, space-separated: the GPU code it holds ("sm_80 ... compute_90
   * sm_90a"), and the main loops ("tiles sm80 sm90a"). Readable without a GPU. */
  const char* architectures;
  const char* mainLoops;
} InfonceCudaApi;

/* The one exported symbol of infonce_cuda.so. */
const InfonceCudaApi* infonce_cuda_api(void);

#ifdef __cplusplus
}
#endif

#endif
