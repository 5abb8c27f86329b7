// The C interface of the MPI backend (native/mpi/mpi_backend.cpp, built into infonce_mpi.so against
// the MPI found at build time, Open MPI or MPICH), which the addon opens with dlopen only when a
// distributed call asks for it: the addon itself needs no MPI. Buffers are host memory; every
// function returns 0, or an MPI error code with a message in `error`.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

#define INFONCE_MPI_ABI_VERSION 1

enum InfonceMpiType { INFONCE_MPI_FLOAT32 = 0, INFONCE_MPI_FLOAT64 = 1, INFONCE_MPI_INT64 = 2 };
enum InfonceMpiOp { INFONCE_MPI_SUM = 0, INFONCE_MPI_MAX = 1 };

typedef struct InfonceMpiApi {
  int abiVersion;
  const char* library;  // "Open MPI 4.1.4", "MPICH 4.0", ...: what MPI_Get_library_version says (first line)
  // MPI_Init_thread(MPI_THREAD_SERIALIZED) unless MPI is initialised already; the world's rank and size.
  int (*init)(int* rank, int* size, char* error, size_t errorSize);
  // Each rank's `sendBytes` bytes, concatenated in rank order into `recv` (recvBytes[r] from rank r).
  int (*allgather)(const void* send, int64_t sendBytes, void* recv, const int64_t* recvBytes, char* error, size_t errorSize);
  int (*allreduce)(void* buffer, int64_t count, int type, int op, char* error, size_t errorSize);
  // The element-wise sum of every rank's `send` (Σ counts[r] floats), rank r keeping its counts[r] in `recv`.
  int (*reduceScatter)(const float* send, float* recv, const int64_t* counts, char* error, size_t errorSize);
  int (*broadcast)(void* buffer, int64_t bytes, int root, char* error, size_t errorSize);
  int (*barrier)(char* error, size_t errorSize);
  // Bytes this rank has sent, as a ring (bandwidth-optimal) collective sends them: an all-gather
  // (W−1)/W of the total, a reduce-scatter the same, an all-reduce twice that, a broadcast its bytes.
  uint64_t (*bytesSent)(void);
  void (*finalize)(void);
} InfonceMpiApi;

// The one entry point infonce_mpi.so exports.
const InfonceMpiApi* infonce_mpi_api(void);
typedef const InfonceMpiApi* (*InfonceMpiApiFunction)(void);
}
