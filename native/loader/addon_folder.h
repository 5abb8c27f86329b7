// The folder of the shared object that holds `anchor` (a function of the addon): where the backends
// the addon opens with dlopen (infonce_cuda.so, infonce_mpi.so) are built and installed.
#pragma once

#include <dlfcn.h>

#include <string>

namespace infonce {

inline std::string addonFolderOf(const void* anchor) {
  Dl_info info;
  if (dladdr(anchor, &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  }
  return ".";
}

}  // namespace infonce
