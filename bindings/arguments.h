// Reading arguments and options with the checks every entry point needs: the right JS type
// (TypeError), then the right size or range (RangeError), each message naming the argument, what
// was expected and what came.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace infonce::bindings {

// An object of named options; rejects names it does not know, so a typo is not silently ignored.
// Every known option is read once, when the Options is made, and never again: a getter (or a
// Proxy) runs then and only then, so an entry point that makes its Options before it takes any
// data pointer cannot have an input detached or resized under it by an option's getter, nor see
// an option change between its check and its use.
class Options {
 public:
  Options(Napi::Env env, const Napi::Value& value, const char* name, std::initializer_list<const char*> known);

  bool has(const char* key) const;
  // The key to read for an option renamed from `oldName` (still accepted for one release): `key`
  // unless only the old name is given. Both given is a RangeError.
  const char* renamed(const char* key, const char* oldName) const;
  int64_t integer(const char* key, int64_t min, int64_t max) const;  // required
  std::optional<int64_t> optionalInteger(const char* key, int64_t min, int64_t max) const;
  std::optional<double> optionalNumber(const char* key) const;
  std::optional<bool> optionalBoolean(const char* key) const;
  // One of `choices`, or nullopt when absent.
  std::optional<std::string> optionalChoice(const char* key, std::initializer_list<const char*> choices) const;
  Napi::Value get(const char* key) const;
  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_;
  std::vector<std::pair<std::string, Napi::Value>> values_;  // the known options, as read once
};

// A Float32Array (TypeError otherwise) of exactly `length` elements (RangeError otherwise).
Napi::Float32Array float32Array(Napi::Env env, const Napi::Value& value, const char* name, int64_t length,
                                const std::string& lengthMeaning);
// The same for Int32Array.
Napi::Int32Array int32Array(Napi::Env env, const Napi::Value& value, const char* name, int64_t length,
                            const std::string& lengthMeaning);
// A Float32Array (Int32Array) of any length (TypeError otherwise).
Napi::Float32Array anyFloat32Array(Napi::Env env, const Napi::Value& value, const char* name);
Napi::Int32Array anyInt32Array(Napi::Env env, const Napi::Value& value, const char* name);

// A list of numbers: an Array of numbers or a typed array (TypeError otherwise, naming the element).
std::vector<double> numberList(Napi::Env env, const Napi::Value& value, const std::string& name);

// The loss's `matryoshka` option, { dims: number[], weights?: number[] } (weights 1 each by default):
// types and shapes here; dims increasing and within dim, weights positive: validateProblem.
struct MatryoshkaOption {
  std::vector<int64_t> dims;
  std::vector<double> weights;
};
MatryoshkaOption parseMatryoshkaOption(Napi::Env env, const Napi::Value& value);

}  // namespace infonce::bindings
