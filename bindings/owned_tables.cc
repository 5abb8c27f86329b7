#include "owned_tables.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "arguments.h"
#include "errors.h"
#include "owned_copy.h"

namespace infonce::bindings {

struct TableMemory {
  float* data = nullptr;
  size_t bytes = 0;
  ~TableMemory();
};

namespace {

// Every live TableMemory by its address, so that a Float32Array's memory can be traced back to
// the block it lies in. Worker threads of several environments (worker_threads) share it.
std::mutex registryMutex;
std::map<const char*, std::weak_ptr<TableMemory>>& registry() {
  static auto* blocks = new std::map<const char*, std::weak_ptr<TableMemory>>();  // never destroyed: finalizers may run late
  return *blocks;
}

std::shared_ptr<TableMemory> blockHolding(const void* begin, size_t bytes) {
  const char* p = static_cast<const char*>(begin);
  std::lock_guard<std::mutex> lock(registryMutex);
  auto it = registry().upper_bound(p);
  if (it == registry().begin()) return nullptr;
  --it;
  std::shared_ptr<TableMemory> block = it->second.lock();
  if (!block || p + bytes > it->first + block->bytes) return nullptr;
  return block;
}

}  // namespace

TableMemory::~TableMemory() {
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry().erase(reinterpret_cast<const char*>(data));
  }
  std::free(data);
}

Napi::Value newTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throwTypeError(env, "length: expected an integer, got " + describe(info[0]));
  const double length = info[0].As<Napi::Number>().DoubleValue();
  constexpr double kMaxLength = double(int64_t(1) << 32);  // 16 GiB of floats: far beyond any table
  if (!(length >= 1 && length <= kMaxLength && length == double(int64_t(length))))
    throwRangeError(env, "length: expected an integer from 1 to 2^32, got " + describe(info[0]));
  auto block = std::make_shared<TableMemory>();
  block->bytes = size_t(length) * sizeof(float);
  block->data = static_cast<float*>(std::calloc(size_t(length), sizeof(float)));
  if (!block->data)
    throw toJsError(env, Error(ErrorCode::OutOfMemory, "out of host memory allocating a table of " +
                                                           std::to_string(block->bytes) + " bytes"));
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry()[reinterpret_cast<const char*>(block->data)] = block;
  }
  // JavaScript's reference: dropped when V8 lets go of the memory (the view collected, or the
  // buffer it was transferred to); calls still reading it hold theirs.
  auto* jsReference = new std::shared_ptr<TableMemory>(block);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, block->data, block->bytes, [](Napi::Env, void*, std::shared_ptr<TableMemory>* ref) { delete ref; }, jsReference);
  return Napi::Float32Array::New(env, size_t(length), buffer, 0);
}

Napi::Value isOwnedTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array array = anyFloat32Array(env, info[0], "array");
  return Napi::Boolean::New(env, array.ByteLength() > 0 && blockHolding(array.Data(), array.ByteLength()) != nullptr);
}

TableView ownedTable(Napi::Env env, const Napi::Float32Array& array, const char* name) {
  TableView view;
  view.length = array.ElementLength();
  if (array.ByteLength() > 0)
    if (std::shared_ptr<TableMemory> block = blockHolding(array.Data(), array.ByteLength())) {
      view.data = array.Data();
      view.inPlace = true;
      view.keepAlive = std::move(block);
      return view;
    }
  auto copy = std::make_shared<std::vector<float>>(ownedCopy(env, array, name));
  view.data = copy->data();
  view.keepAlive = std::move(copy);
  return view;
}

uint64_t fingerprint(const TableView& view) {
  // Four independent multiply-rotate lanes over 64-bit words: memory speed, and a change of any
  // bit moves the result (not a cryptographic hash: it guards against mistakes, not adversaries).
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(view.data);
  const size_t size = view.length * sizeof(float);
  uint64_t lane[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0x27D4EB2F165667C5ull};
  auto mix = [](uint64_t h, uint64_t word) {
    h ^= word * 0x9E3779B97F4A7C15ull;
    return ((h << 31) | (h >> 33)) * 0xC2B2AE3D27D4EB4Full;
  };
  size_t k = 0;
  for (; k + 32 <= size; k += 32)
    for (int l = 0; l < 4; ++l) {
      uint64_t word;
      std::memcpy(&word, bytes + k + 8 * l, 8);
      lane[l] = mix(lane[l], word);
    }
  uint64_t h = mix(mix(mix(lane[0], lane[1]), lane[2]), lane[3]) ^ size;
  for (; k < size; ++k) h = mix(h, bytes[k]);
  return h;
}

}  // namespace infonce::bindings
