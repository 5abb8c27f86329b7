// The MPI backend as the addon sees it: opened and started on first use (native/loader/mpi_loader.cpp).
#pragma once

#include "infonce.h"
#include "infonce_mpi.h"

namespace infonce {

struct MpiWorld {
  const InfonceMpiApi* api = nullptr;
  int rank = 0;
  int size = 1;
};

// The started MPI world; throws Error(MpiUnavailable) saying what to install.
const MpiWorld& mpiWorld();

// A world of one process with no MPI (every collective a copy): what an NCCL communicator made
// without an MPI one exchanges its host-side agreements over.
const MpiWorld& soloWorld();

// Throws Error(MpiFailed) with `error` when a backend call returned non-zero.
void mpiCheck(int status, const char* error);

}  // namespace infonce
