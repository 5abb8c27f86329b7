// NCCL as the addon sees it: libnccl.so.2 opened with dlopen on the first request for an NCCL
// communicator (native/loader/nccl_loader.cpp), never linked, so the addon loads without it. The
// declarations below are NCCL's stable C interface (2.x), spelled out here so that no NCCL header is
// needed at build time; only the functions the sharded loss uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace infonce {

struct NcclUniqueId {
  char internal[128];  // NCCL_UNIQUE_ID_BYTES
};
using NcclComm = struct NcclCommOpaque*;
using NcclResult = int;  // ncclSuccess = 0; ncclInProgress = 7 (non-blocking communicators only)
// ncclDataType_t and ncclRedOp_t values (fixed in NCCL 2.x).
enum NcclType : int { kNcclUint8 = 1, kNcclInt32 = 2, kNcclFloat32 = 7, kNcclFloat64 = 8 };
enum NcclOp : int { kNcclSum = 0, kNcclMax = 2 };

struct NcclApi {
  std::string library;  // the file opened
  int version = 0;      // ncclGetVersion: 22307 for 2.23.7 (major·10000 + minor·100 + patch since 2.9)
  NcclResult (*getVersion)(int*) = nullptr;
  NcclResult (*getUniqueId)(NcclUniqueId*) = nullptr;
  NcclResult (*commInitRank)(NcclComm*, int, NcclUniqueId, int) = nullptr;
  NcclResult (*commDestroy)(NcclComm) = nullptr;
  NcclResult (*commAbort)(NcclComm) = nullptr;
  NcclResult (*commGetAsyncError)(NcclComm, NcclResult*) = nullptr;
  const char* (*getErrorString)(NcclResult) = nullptr;
  const char* (*getLastError)(NcclComm) = nullptr;  // may be absent (before 2.13)
  NcclResult (*allReduce)(const void*, void*, size_t, int, int, NcclComm, void*) = nullptr;
  NcclResult (*allGather)(const void*, void*, size_t, int, NcclComm, void*) = nullptr;
  NcclResult (*reduceScatter)(const void*, void*, size_t, int, int, NcclComm, void*) = nullptr;
  NcclResult (*broadcast)(const void*, void*, size_t, int, int, NcclComm, void*) = nullptr;
  NcclResult (*reduce)(const void*, void*, size_t, int, int, int, NcclComm, void*) = nullptr;
  NcclResult (*groupStart)() = nullptr;
  NcclResult (*groupEnd)() = nullptr;

  // "NCCL 2.30.7"
  std::string versionName() const;
  // NCCL's words for a failed call, with its last error where it has one.
  std::string describe(NcclResult result, NcclComm comm = nullptr) const;
};

// The opened library; throws Error(NcclUnavailable) saying where it looked and what to install.
// INFONCE_NCCL_LIBRARY (a path) comes first, then libnccl.so.2 on the loader's search path.
const NcclApi& ncclApi();

}  // namespace infonce
