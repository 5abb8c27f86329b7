// Parameter tables whose memory the addon owns. The encoder's tables are read in place by its
// asynchronous forward and backward (a copy of ~50 MB a call would cost more than the work), and
// JavaScript can always take an ArrayBuffer's memory away (a transfer, a BYOB stream read, a resize).
// So the encoder keeps its tables here: JavaScript sees each through a Float32Array over memory the
// addon allocated, and a call that reads a table holds a reference to that memory. Whatever happens
// to the JavaScript view (detached, transferred, collected), the memory lives until the last call
// reading it is done. An array the addon did not make is copied for the call instead (ownedTable).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace infonce::bindings {

struct TableMemory;

// A table a worker may read: the memory, and the reference that keeps it alive (or the copy).
struct TableView {
  const float* data = nullptr;
  size_t length = 0;
  bool inPlace = false;  // the addon's memory, read where JavaScript can still write it
  std::shared_ptr<const void> keepAlive;
};

// A fingerprint of the floats a view reads (64-bit, every byte counted): an in-place input whose
// fingerprint differs after the work was written during it, and the work's result is refused.
uint64_t fingerprint(const TableView& view);

// newTable(length) → a zeroed Float32Array over memory the addon owns.
Napi::Value newTable(const Napi::CallbackInfo& info);
// isOwnedTable(array) → whether `array` lies in such memory (tests, and the encoder's own check).
Napi::Value isOwnedTable(const Napi::CallbackInfo& info);

// The memory of `array` (length checked by the caller), held for a worker: the addon's own memory
// with a reference, or, for any other array, a copy.
TableView ownedTable(Napi::Env env, const Napi::Float32Array& array, const char* name);

}  // namespace infonce::bindings
