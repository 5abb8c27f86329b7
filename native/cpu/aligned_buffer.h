// A float buffer aligned to a cache line, for packed panels and tiles. Allocation failure becomes
// Error(OutOfMemory) before any parallel work starts.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "infonce.h"

namespace infonce::cpu {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t floats) {
    const size_t bytes = (static_cast<size_t>(floats > 0 ? floats : 1) * sizeof(float) + 63) / 64 * 64;
    data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw Error(ErrorCode::OutOfMemory, "could not allocate " + std::to_string(bytes) + " bytes of workspace");
  }
  float* get() const { return data_.get(); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
};

}  // namespace infonce::cpu
