// The MPI backend: thin wrappers of MPI's collectives on MPI_COMM_WORLD behind the C interface of
// infonce_mpi.h, and the count of bytes each rank sends. Built only where CMake finds MPI; the addon
// opens it at run time (native/loader/mpi_loader.cpp).
#include <mpi.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "infonce_mpi.h"

namespace {

std::atomic<uint64_t> sent{0};
int worldSize = 1, worldRank = 0;
char libraryName[256] = "MPI";

int fail(int code, const char* what, char* error, size_t size) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) std::snprintf(text, sizeof text, "MPI error %d", code);
  std::snprintf(error, size, "%s failed on rank %d of %d: %s", what, worldRank, worldSize, text);
  return code == MPI_SUCCESS ? 1 : code;
}

int tooLarge(const char* what, int64_t n, char* error, size_t size) {
  std::snprintf(error, size, "%s: %lld elements on rank %d, above MPI's int counts (2^31 - 1)", what, static_cast<long long>(n), worldRank);
  return 1;
}

MPI_Datatype datatype(int type) { return type == INFONCE_MPI_FLOAT32 ? MPI_FLOAT : type == INFONCE_MPI_FLOAT64 ? MPI_DOUBLE : MPI_INT64_T; }
int64_t typeBytes(int type) { return type == INFONCE_MPI_FLOAT32 ? 4 : 8; }

int init(int* rank, int* size, char* error, size_t errorSize) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS) return fail(code, "MPI_Init_thread", error, errorSize);
    if (provided < MPI_THREAD_SERIALIZED) {
      std::snprintf(error, errorSize, "this MPI provides thread level %d; infonce calls MPI from a worker thread and needs MPI_THREAD_SERIALIZED", provided);
      return 1;
    }
  }
  // Errors come back as codes (the call fails with a message), not as an abort of the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
  MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string first(version, strnlen(version, sizeof version));
  first = first.substr(0, first.find_first_of("\n,"));
  std::snprintf(libraryName, sizeof libraryName, "%s", first.c_str());
  *rank = worldRank;
  *size = worldSize;
  return 0;
}

int allgather(const void* send, int64_t sendBytes, void* recv, const int64_t* recvBytes, char* error, size_t errorSize) {
  std::vector<int> counts(worldSize), offsets(worldSize);
  int64_t offset = 0;
  for (int r = 0; r < worldSize; ++r) {
    if (recvBytes[r] > INT_MAX || offset > INT_MAX) return tooLarge("all-gather", recvBytes[r], error, errorSize);
    counts[r] = static_cast<int>(recvBytes[r]);
    offsets[r] = static_cast<int>(offset);
    offset += recvBytes[r];
  }
  if (sendBytes != recvBytes[worldRank]) {
    std::snprintf(error, errorSize, "all-gather: rank %d sends %lld bytes, the counts say %lld", worldRank,
                  static_cast<long long>(sendBytes), static_cast<long long>(recvBytes[worldRank]));
    return 1;
  }
  const int code = MPI_Allgatherv(send, static_cast<int>(sendBytes), MPI_BYTE, recv, counts.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD);
  if (code != MPI_SUCCESS) return fail(code, "MPI_Allgatherv", error, errorSize);
  sent += static_cast<uint64_t>(offset - recvBytes[worldRank]);
  return 0;
}

int allreduce(void* buffer, int64_t count, int type, int op, char* error, size_t errorSize) {
  if (count > INT_MAX) return tooLarge("all-reduce", count, error, errorSize);
  const int code = MPI_Allreduce(MPI_IN_PLACE, buffer, static_cast<int>(count), datatype(type), op == INFONCE_MPI_MAX ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD);
  if (code != MPI_SUCCESS) return fail(code, "MPI_Allreduce", error, errorSize);
  if (worldSize > 1) sent += static_cast<uint64_t>(2 * (worldSize - 1) * count * typeBytes(type) / worldSize);
  return 0;
}

int reduceScatter(const float* send, float* recv, const int64_t* counts, char* error, size_t errorSize) {
  std::vector<int> sizes(worldSize);
  int64_t total = 0;
  for (int r = 0; r < worldSize; ++r) {
    if (counts[r] > INT_MAX) return tooLarge("reduce-scatter", counts[r], error, errorSize);
    sizes[r] = static_cast<int>(counts[r]);
    total += counts[r];
  }
  const int code = MPI_Reduce_scatter(send, recv, sizes.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  if (code != MPI_SUCCESS) return fail(code, "MPI_Reduce_scatter", error, errorSize);
  sent += static_cast<uint64_t>((total - counts[worldRank]) * 4);
  return 0;
}

int broadcast(void* buffer, int64_t bytes, int root, char* error, size_t errorSize) {
  if (bytes > INT_MAX) return tooLarge("broadcast", bytes, error, errorSize);
  const int code = MPI_Bcast(buffer, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD);
  if (code != MPI_SUCCESS) return fail(code, "MPI_Bcast", error, errorSize);
  if (worldRank == root) sent += static_cast<uint64_t>(bytes);
  return 0;
}

int barrier(char* error, size_t errorSize) {
  const int code = MPI_Barrier(MPI_COMM_WORLD);
  return code == MPI_SUCCESS ? 0 : fail(code, "MPI_Barrier", error, errorSize);
}

uint64_t bytesSent() { return sent.load(); }

void finalize() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const InfonceMpiApi* infonce_mpi_api(void) {
  static InfonceMpiApi api = {INFONCE_MPI_ABI_VERSION, libraryName, init, allgather, allreduce, reduceScatter, broadcast, barrier, bytesSent, finalize};
  return &api;
}
