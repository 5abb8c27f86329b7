// What an asynchronous call reads on a worker thread must not be the caller's memory: holding a
// reference to a typed array does not keep its ArrayBuffer attached (structuredClone or postMessage
// with a transfer list detaches it, a resizable buffer can shrink), and a caller may rewrite an
// array that was checked. So the async entry points copy their inputs here, once, while parsing,
// and check the copy. The cost is one memcpy of the inputs (4·(M+N)·D bytes for the loss, against
// 8·M·N·D FLOPs); the synchronous calls read in place, since nothing else can run during them (their
// options, whose getters could, are all read before any memory is taken: arguments.h). Arrays in the
// addon's own memory are not copied: owned_tables.h.
#pragma once

#include <napi.h>

#include <new>
#include <vector>

#include "errors.h"
#include "infonce.h"

namespace infonce::bindings {

template <typename T>
std::vector<T> ownedCopy(Napi::Env env, const Napi::TypedArrayOf<T>& array, const char* name) {
  try {
    const T* data = array.Data();
    return std::vector<T>(data, data + array.ElementLength());
  } catch (const std::bad_alloc&) {
    throw toJsError(env, Error(ErrorCode::OutOfMemory, std::string(name) + ": out of host memory copying " +
                                                           std::to_string(array.ByteLength()) + " bytes"));
  }
}

}  // namespace infonce::bindings
