#include "cuda.h"

#include "../native/cuda/launch_plan.h"
#include "arguments.h"
#include "errors.h"
#include "infonce_cuda.h"

namespace infonce::bindings {

Napi::Value setCudaLibraryPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwTypeError(env, "path: expected a string, got " + describe(info[0]));
  infonce::setCudaLibraryPath(info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

Napi::Value cudaSelfTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    char report[512] = "";
    throwCudaStatus(cudaApi().selfTest(0, report, sizeof report), report);
    return Napi::String::New(env, report);
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
}

// cudaLaunchPlan({ rows, cols, dim, residentBlocks, maxReplicas, tiles }) → the plan's numbers.
Napi::Value cudaLaunchPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(env, info[0], "options", {"rows", "cols", "dim", "residentBlocks", "maxReplicas", "tiles"});
  const bool small = o.optionalChoice("tiles", {"large", "small"}).value_or("large") == "small";
  const cuda::TileShape& shape = small ? cuda::kSmallTiles : cuda::kLargeTiles;
  const cuda::LaunchPlan plan =
      cuda::planLaunch(o.integer("rows", 1, 1LL << 31), o.integer("cols", 1, 1LL << 31), o.integer("dim", 1, 1LL << 31),
                       shape, static_cast<int>(o.integer("residentBlocks", 1, 1 << 20)),
                       static_cast<int>(o.integer("maxReplicas", 1, 64)));
  Napi::Object out = Napi::Object::New(env);
  out.Set("tileRows", shape.rows);
  out.Set("tileCols", shape.cols);
  out.Set("paddedRows", double(plan.paddedRows));
  out.Set("paddedCols", double(plan.paddedCols));
  out.Set("paddedDim", double(plan.paddedDim));
  out.Set("rowTiles", double(plan.rowTiles));
  out.Set("colTiles", double(plan.colTiles));
  out.Set("ranges", plan.ranges);
  out.Set("replicas", plan.replicas);
  out.Set("launches", plan.launches);
  // Every (launch, block) assignment, for the tests to check coverage and exclusivity.
  Napi::Array blocks = Napi::Array::New(env);
  uint32_t k = 0;
  for (int launch = 0; launch < plan.launches; ++launch)
    for (int block = 0; block < plan.blocksPerLaunch(); ++block) {
      if (plan.stepOf(launch, block) >= plan.ranges) continue;
      Napi::Object b = Napi::Object::New(env);
      b.Set("launch", launch);
      b.Set("replica", plan.replicaOf(block));
      const int rowRange = plan.rowRangeOf(block), colRange = plan.colRangeOf(launch, block);
      b.Set("rowTileBegin", double(plan.rowTileBegin(rowRange)));
      b.Set("rowTileEnd", double(plan.rowTileBegin(rowRange + 1)));
      b.Set("colTileBegin", double(plan.colTileBegin(colRange)));
      b.Set("colTileEnd", double(plan.colTileBegin(colRange + 1)));
      blocks.Set(k++, b);
    }
  out.Set("blocks", blocks);
  Napi::Object shared = Napi::Object::New(env);
  for (int bytes : {2, 4}) {
    Napi::Object s = Napi::Object::New(env);
    s.Set("statistics", double(cuda::statisticsSharedBytes(shape, bytes)));
    s.Set("gradients", double(cuda::gradientSharedBytes(shape, bytes)));
    shared.Set(bytes == 2 ? "half" : "float", s);
  }
  out.Set("sharedBytes", shared);
  return out;
}

}  // namespace infonce::bindings
