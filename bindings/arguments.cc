#include "arguments.h"

#include <cmath>

#include "errors.h"

namespace infonce::bindings {

Options::Options(Napi::Env env, const Napi::Value& value, const char* name, std::initializer_list<const char*> known)
    : env_(env) {
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray() || value.IsFunction())
    throwTypeError(env, std::string(name) + ": expected an object of options, got " + describe(value));
  const Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throwTypeError(env, std::string(name) + ": unknown option '" + key + "' (known: " + list + ")");
    }
  }
  for (const char* k : known) values_.emplace_back(k, object.Get(k));
}

Napi::Value Options::get(const char* key) const {
  for (const auto& [k, v] : values_)
    if (k == key) return v;
  return env_.Undefined();
}

bool Options::has(const char* key) const {
  return !get(key).IsUndefined();
}

std::optional<int64_t> Options::optionalInteger(const char* key, int64_t min, int64_t max) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = get(key);
  if (!v.IsNumber()) throwTypeError(env_, std::string(key) + ": expected an integer, got " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::floor(d) == d) || d < static_cast<double>(min) || d > static_cast<double>(max))
    throwRangeError(env_, std::string(key) + ": expected an integer from " + std::to_string(min) + " to " +
                              std::to_string(max) + ", got " + describe(v));
  return static_cast<int64_t>(d);
}

int64_t Options::integer(const char* key, int64_t min, int64_t max) const {
  if (!has(key)) throwTypeError(env_, std::string(key) + ": expected an integer, got undefined (it is required)");
  return *optionalInteger(key, min, max);
}

std::optional<double> Options::optionalNumber(const char* key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = get(key);
  if (!v.IsNumber()) throwTypeError(env_, std::string(key) + ": expected a number, got " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

std::optional<bool> Options::optionalBoolean(const char* key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = get(key);
  if (!v.IsBoolean()) throwTypeError(env_, std::string(key) + ": expected a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

const char* Options::renamed(const char* key, const char* oldName) const {
  if (has(key) && has(oldName))
    throwRangeError(env_, std::string(oldName) + ": the old name of '" + key + "'; give only one of them");
  return has(oldName) ? oldName : key;
}

std::optional<std::string> Options::optionalChoice(const char* key, std::initializer_list<const char*> choices) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = get(key);
  std::string list;
  for (const char* c : choices) list += (list.empty() ? "'" : ", '") + std::string(c) + "'";
  if (!v.IsString()) throwTypeError(env_, std::string(key) + ": expected one of " + list + ", got " + describe(v));
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const char* c : choices)
    if (s == c) return s;
  throwRangeError(env_, std::string(key) + ": expected one of " + list + ", got '" + s + "'");
}

namespace {

template <typename Array>
Array typedArray(Napi::Env env, const Napi::Value& value, const char* name, napi_typedarray_type type,
                 const char* typeName, int64_t length, const std::string& lengthMeaning) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throwTypeError(env, std::string(name) + ": expected a " + typeName + ", got " + describe(value));
  Array array = value.As<Array>();
  if (static_cast<int64_t>(array.ElementLength()) != length)
    throwRangeError(env, std::string(name) + ": expected " + lengthMeaning + " = " + std::to_string(length) +
                             " elements, got " + std::to_string(array.ElementLength()));
  return array;
}

}  // namespace

Napi::Float32Array float32Array(Napi::Env env, const Napi::Value& value, const char* name, int64_t length,
                                const std::string& lengthMeaning) {
  return typedArray<Napi::Float32Array>(env, value, name, napi_float32_array, "Float32Array", length, lengthMeaning);
}

Napi::Int32Array int32Array(Napi::Env env, const Napi::Value& value, const char* name, int64_t length,
                            const std::string& lengthMeaning) {
  return typedArray<Napi::Int32Array>(env, value, name, napi_int32_array, "Int32Array", length, lengthMeaning);
}

Napi::Float32Array anyFloat32Array(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwTypeError(env, std::string(name) + ": expected a Float32Array, got " + describe(value));
  return value.As<Napi::Float32Array>();
}

Napi::Int32Array anyInt32Array(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throwTypeError(env, std::string(name) + ": expected an Int32Array, got " + describe(value));
  return value.As<Napi::Int32Array>();
}

// A list of numbers: an Array of numbers or a typed array (TypeError otherwise, naming the element).
std::vector<double> numberList(Napi::Env env, const Napi::Value& value, const std::string& name) {
  std::vector<double> out;
  if (value.IsTypedArray()) {
    Napi::TypedArray typed = value.As<Napi::TypedArray>();
    Napi::Object object = value.As<Napi::Object>();
    for (size_t k = 0; k < typed.ElementLength(); ++k) out.push_back(object.Get(static_cast<uint32_t>(k)).ToNumber().DoubleValue());
    return out;
  }
  if (!value.IsArray()) throwTypeError(env, name + ": expected an array of numbers, got " + describe(value));
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value element = array.Get(k);
    if (!element.IsNumber())
      throwTypeError(env, name + "[" + std::to_string(k) + "]: expected a number, got " + describe(element));
    out.push_back(element.As<Napi::Number>().DoubleValue());
  }
  return out;
}

MatryoshkaOption parseMatryoshkaOption(Napi::Env env, const Napi::Value& value) {
  MatryoshkaOption out;
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray())
    throwTypeError(env, "matryoshka: expected { dims: number[], weights?: number[] }, got " + describe(value));
  const Options matryoshka(env, value, "matryoshka", {"dims", "weights"});
  if (!matryoshka.has("dims") || matryoshka.get("dims").IsUndefined())
    throwTypeError(env, "matryoshka.dims: expected an array of increasing prefix lengths, got undefined");
  const std::vector<double> dims = numberList(env, matryoshka.get("dims"), "matryoshka.dims");
  if (dims.empty() || dims.size() > 64)
    throwRangeError(env, "matryoshka.dims: expected 1 to 64 prefix lengths, got " + std::to_string(dims.size()));
  for (size_t k = 0; k < dims.size(); ++k) {
    if (!(std::isfinite(dims[k]) && dims[k] == std::floor(dims[k]) && std::abs(dims[k]) < 9.0e15))
      throwRangeError(env, "matryoshka.dims[" + std::to_string(k) + "]: expected an integer, got " + std::to_string(dims[k]));
    out.dims.push_back(static_cast<int64_t>(dims[k]));
  }
  out.weights.assign(dims.size(), 1.0);
  if (matryoshka.has("weights") && !matryoshka.get("weights").IsUndefined()) {
    out.weights = numberList(env, matryoshka.get("weights"), "matryoshka.weights");
    if (out.weights.size() != dims.size())
      throwRangeError(env, "matryoshka.weights: expected one weight per dim (" + std::to_string(dims.size()) + "), got " +
                               std::to_string(out.weights.size()));
  }
  return out;
}


}  // namespace infonce::bindings
