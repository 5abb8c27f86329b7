// JavaScript errors with a `code`, so callers can branch on err.code instead of parsing messages.
#pragma once

#include <napi.h>

#include <string>

#include "infonce.h"

namespace infonce::bindings {

// The codes the bindings give themselves (the native core's come from errorCodeName). With those, the
// addon's `errorCodes`, which test/contract.test.ts holds to lib/error-codes.ts.
inline constexpr const char* kInvalidArgType = "ERR_INVALID_ARG_TYPE";
inline constexpr const char* kOutOfRange = "ERR_OUT_OF_RANGE";
inline constexpr const char* kTensorDisposed = "ERR_TENSOR_DISPOSED";
inline constexpr const char* kTensorInUse = "ERR_TENSOR_IN_USE";
inline constexpr const char* kBindingErrorCodes[] = {kInvalidArgType, kOutOfRange, kTensorDisposed, kTensorInUse};

// A value of the wrong type: TypeError, code ERR_INVALID_ARG_TYPE.
[[noreturn]] void throwTypeError(Napi::Env env, const std::string& message);
// A value of the right type but the wrong size, range or content: RangeError, code ERR_OUT_OF_RANGE.
[[noreturn]] void throwRangeError(Napi::Env env, const std::string& message);
// The JS error for an error of the native core (InvalidArgument → RangeError, the rest → Error).
Napi::Error toJsError(Napi::Env env, const Error& error);

// How a JS value looks in a message: "a string", "an Array", "a Float64Array", "undefined", "NaN".
std::string describe(const Napi::Value& value);

}  // namespace infonce::bindings
