#include "rows.h"

#include <string>

#include "arguments.h"
#include "errors.h"
#include "infonce_rows.h"

namespace infonce::bindings {

namespace {

// (target, width, rows | null): the table and the rows an operation touches, checked.
struct RowsCall {
  Napi::Float32Array table;
  int64_t width = 0, count = 0;
  const int32_t* rows = nullptr;
};

RowsCall parseRows(Napi::Env env, const Napi::CallbackInfo& info) {
  RowsCall call;
  call.table = anyFloat32Array(env, info[0], "table");
  if (!info[1].IsNumber()) throwTypeError(env, "width: expected an integer, got " + describe(info[1]));
  call.width = info[1].As<Napi::Number>().Int64Value();
  const int64_t size = int64_t(call.table.ElementLength());
  if (call.width < 1 || size % call.width != 0)
    throwRangeError(env, "width: expected a divisor of table.length = " + std::to_string(size) + ", got " + std::to_string(call.width));
  call.count = size / call.width;
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    Napi::Int32Array rows = anyInt32Array(env, info[2], "rows");
    call.rows = rows.Data();
    const int64_t tableRows = call.count;
    call.count = int64_t(rows.ElementLength());
    for (int64_t k = 0; k < call.count; ++k)
      if (call.rows[k] < 0 || call.rows[k] >= tableRows)
        throwRangeError(env, "rows[" + std::to_string(k) + "]: expected a row in [0, " + std::to_string(tableRows) +
                                 "), got " + std::to_string(call.rows[k]));
  }
  return call;
}

}  // namespace

// addRows(table, width, rows | null, grads): table[rows[k]] += grads[k].
Napi::Value addRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  Napi::Float32Array grads = float32Array(env, info[3], "grads", c.count * c.width, "rows × width");
  infonce::addRows(c.table.Data(), c.width, c.rows, c.count, grads.Data());
  return env.Undefined();
}

// takeRows(table, width, rows) → the rows, copied; zeroRows(table, width, rows) clears them.
Napi::Value takeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  if (!c.rows) throwTypeError(env, "rows: expected an Int32Array, got " + describe(info[2]));
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(c.count * c.width));
  infonce::takeRows(c.table.Data(), c.width, c.rows, c.count, out.Data());
  return out;
}

Napi::Value zeroRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowsCall c = parseRows(env, info);
  if (!c.rows) throwTypeError(env, "rows: expected an Int32Array, got " + describe(info[2]));
  infonce::zeroRows(c.table.Data(), c.width, c.rows, c.count);
  return env.Undefined();
}

// normalizeRows(x, dim): each row of x divided by its L2 norm, in place (zero rows stay zero).
Napi::Value normalizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = anyFloat32Array(env, info[0], "x");
  if (!info[1].IsNumber()) throwTypeError(env, "dim: expected an integer, got " + describe(info[1]));
  const int64_t dim = info[1].As<Napi::Number>().Int64Value();
  if (dim < 1 || int64_t(x.ElementLength()) % dim != 0)
    throwRangeError(env, "dim: expected a divisor of x.length = " + std::to_string(x.ElementLength()) + ", got " + std::to_string(dim));
  infonce::normalizeRows(x.Data(), int64_t(x.ElementLength()) / dim, dim);
  return env.Undefined();
}

}  // namespace infonce::bindings
