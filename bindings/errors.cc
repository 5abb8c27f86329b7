#include "errors.h"

#include <cmath>

namespace infonce::bindings {

[[noreturn]] void throwTypeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, kInvalidArgType));
  throw error;
}

[[noreturn]] void throwRangeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, kOutOfRange));
  throw error;
}

Napi::Error toJsError(Napi::Env env, const Error& e) {
  Napi::Error error = e.code() == ErrorCode::InvalidArgument ? Napi::RangeError::New(env, e.what())
                                                             : Napi::Error::New(env, e.what());
  error.Set("code", Napi::String::New(env, errorCodeName(e.code())));
  return error;
}

std::string describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return value.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_number: {
      const double v = value.As<Napi::Number>().DoubleValue();
      if (std::isnan(v)) return "NaN";
      Napi::String text = value.ToString();
      return text.Utf8Value();
    }
    case napi_string: return "a string";
    case napi_bigint: return "a bigint";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: break;
  }
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value constructor = object.Get("constructor");
  if (constructor.IsFunction()) {
    Napi::Value name = constructor.As<Napi::Object>().Get("name");
    if (name.IsString()) {
      std::string text = name.As<Napi::String>().Utf8Value();
      const bool vowel = !text.empty() && std::string("AEIOU").find(text[0]) != std::string::npos;
      return (vowel ? "an " : "a ") + text;
    }
  }
  return "an object";
}

}  // namespace infonce::bindings
