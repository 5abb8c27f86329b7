// Opens the MPI backend (infonce_mpi.so, built beside the addon where CMake found an MPI) the first
// time a distributed call asks for it, and starts MPI. Nothing of MPI is linked into the addon.
#include "addon_folder.h"
#include "infonce_mpi_world.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <string>

namespace infonce {
namespace {

const char* kInstall =
    "install an MPI and rebuild infonce from source so that its MPI backend is built (Debian/Ubuntu: apt install "
    "openmpi-bin libopenmpi-dev, then INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce), and start the program "
    "with mpirun -np W (or srun)";

std::string addonFolder() { return addonFolderOf(reinterpret_cast<const void*>(&mpiWorld)); }

}  // namespace

const MpiWorld& mpiWorld() {
  static std::mutex mutex;
  static MpiWorld world;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mutex);
  if (world.api) return world;
  if (!failure.empty()) throw Error(ErrorCode::MpiUnavailable, failure);
  const std::string library = addonFolder() + "/infonce_mpi.so";
  if (access(library.c_str(), R_OK) != 0) {
    failure = "this installation of infonce has no MPI backend (looked for " + library + "): " + kInstall;
    throw Error(ErrorCode::MpiUnavailable, failure);
  }
  // RTLD_GLOBAL: Open MPI opens its own components with dlopen and needs libmpi's symbols global.
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    // The prebuilt backend is Open MPI's (libmpi.so.40); with MPICH, or no MPI, a source build is the way.
    failure = std::string("the MPI backend could not be loaded (") + dlerror() +
              "): the prebuilt one needs Open MPI's libmpi.so.40 (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev); with "
              "another MPI (MPICH), rebuild infonce from source against it (INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce); "
              "start the program with mpirun -np W (or srun)";
    throw Error(ErrorCode::MpiUnavailable, failure);
  }
  auto entry = reinterpret_cast<InfonceMpiApiFunction>(dlsym(handle, "infonce_mpi_api"));
  const InfonceMpiApi* api = entry ? entry() : nullptr;
  if (!api || api->abiVersion != INFONCE_MPI_ABI_VERSION) {
    failure = library + " is not this version's MPI backend (rebuild infonce)";
    throw Error(ErrorCode::MpiUnavailable, failure);
  }
  char error[512] = {0};
  if (api->init(&world.rank, &world.size, error, sizeof error) != 0) {
    failure = std::string("MPI did not start: ") + error;
    throw Error(ErrorCode::MpiUnavailable, failure);
  }
  world.api = api;
  return world;
}

namespace {

int soloInit(int* rank, int* size, char*, size_t) {
  *rank = 0;
  *size = 1;
  return 0;
}
int soloAllgather(const void* send, int64_t sendBytes, void* recv, const int64_t*, char*, size_t) {
  if (sendBytes > 0 && send != recv) std::memmove(recv, send, static_cast<size_t>(sendBytes));
  return 0;
}
int soloAllreduce(void*, int64_t, int, int, char*, size_t) { return 0; }
int soloReduceScatter(const float* send, float* recv, const int64_t* counts, char*, size_t) {
  if (counts[0] > 0 && send != recv) std::memmove(recv, send, sizeof(float) * static_cast<size_t>(counts[0]));
  return 0;
}
int soloBroadcast(void*, int64_t, int, char*, size_t) { return 0; }
int soloBarrier(char*, size_t) { return 0; }
uint64_t soloBytesSent() { return 0; }
void soloFinalize() {}

}  // namespace

const MpiWorld& soloWorld() {
  static const InfonceMpiApi api = {INFONCE_MPI_ABI_VERSION, "none (one process)", soloInit, soloAllgather, soloAllreduce,
                                    soloReduceScatter, soloBroadcast, soloBarrier, soloBytesSent, soloFinalize};
  static const MpiWorld world{&api, 0, 1};
  return world;
}

void mpiCheck(int status, const char* error) {
  if (status != 0) throw Error(ErrorCode::MpiFailed, error);
}

}  // namespace infonce
