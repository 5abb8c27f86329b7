#include "cuda_backend.h"

#include <cstdio>

#include "schedule/launch_plan.h"
#include "schedule/main_loop.h"
#include "schedule/panel_emulation.h"
#include "schedule/panel_plan.h"
#include "arguments.h"
#include "errors.h"
#include "infonce_cuda.h"
#include "loss.h"

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

// cudaPanelPlan({ rows, cols, dim, memoryBudget, blocks? }) → the panel schedule's numbers, each
// panel's grids, and with blocks: true, the output offset of every block of every launch (tests).
Napi::Value cudaPanelPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(env, info[0], "options", {"rows", "cols", "dim", "memoryBudget", "blocks"});
  const int64_t cols = o.integer("cols", 1, 1LL << 31);
  const int64_t budget = o.integer("memoryBudget", cuda::minimumPanelBudget(cols), int64_t(1) << 53);
  const cuda::PanelPlan plan = cuda::planPanels(o.integer("rows", 1, 1LL << 31), cols, o.integer("dim", 1, 1LL << 31), budget);
  const bool blocks = o.optionalBoolean("blocks").value_or(false);
  Napi::Object out = Napi::Object::New(env);
  for (auto [name, value] : {std::pair{"paddedRows", plan.paddedRows}, {"paddedCols", plan.paddedCols},
                             {"paddedDim", plan.paddedDim}, {"panelRows", plan.panelRows}, {"panels", plan.panels},
                             {"splits", plan.splits}, {"gradientBytes", plan.gradientBytes},
                             {"workspaceBytes", plan.workspaceBytes}, {"logScalePartials", plan.logScalePartials()}})
    out.Set(name, double(value));
  Napi::Array splitBegins = Napi::Array::New(env);
  for (int64_t s = 0; s <= plan.splits; ++s) splitBegins.Set(uint32_t(s), double(plan.splitBegin(s)));
  out.Set("splitBegins", splitBegins);
  Napi::Object shared = Napi::Object::New(env);
  shared.Set("terms", double(cuda::kTermsSharedBytes));
  shared.Set("rowGradient", double(cuda::kRowGradientSharedBytes));
  shared.Set("columnGradient", double(cuda::kColumnGradientSharedBytes));
  out.Set("sharedBytes", shared);
  auto triple = [&](const int64_t (&g)[3]) {
    Napi::Array a = Napi::Array::New(env, 3);
    for (uint32_t k = 0; k < 3; ++k) a.Set(k, double(g[k]));
    return a;
  };
  Napi::Array panels = Napi::Array::New(env);
  for (int64_t p = 0; p < plan.panels; ++p) {
    const cuda::PanelGrids grids = cuda::panelGrids(plan, p);
    Napi::Object panel = Napi::Object::New(env);
    panel.Set("begin", double(plan.panelBegin(p)));
    panel.Set("height", double(plan.panelHeight(p)));
    panel.Set("logScalePartialOffset", double(plan.logScalePartialOffset(p)));
    panel.Set("terms", triple(grids.terms));
    panel.Set("rowGradient", triple(grids.rowGradient));
    panel.Set("columnGradient", triple(grids.columnGradient));
    // The last block of each launch: where its output block starts (the largest offset it writes is
    // that plus 127 rows and 127 columns).
    panel.Set("lastTermsOffset", double(plan.termsOffset(grids.terms[0] - 1, grids.terms[1] - 1)));
    panel.Set("lastRowGradientOffset", double(plan.rowGradientOffset(p, grids.rowGradient[0] - 1, grids.rowGradient[1] - 1,
                                                                      grids.rowGradient[2] - 1)));
    panel.Set("lastColumnGradientOffset",
              double(plan.columnGradientOffset(grids.columnGradient[0] - 1, grids.columnGradient[1] - 1)));
    if (blocks) {
      auto offsets = [&](const int64_t (&g)[3], auto offsetOf) {
        Napi::Float64Array a = Napi::Float64Array::New(env, size_t(g[0] * g[1] * g[2]));
        size_t k = 0;
        for (int64_t z = 0; z < g[2]; ++z)
          for (int64_t y = 0; y < g[1]; ++y)
            for (int64_t x = 0; x < g[0]; ++x) a[k++] = double(offsetOf(x, y, z));
        return a;
      };
      panel.Set("termsOffsets", offsets(grids.terms, [&](int64_t x, int64_t y, int64_t) { return plan.termsOffset(x, y); }));
      panel.Set("rowGradientOffsets", offsets(grids.rowGradient, [&](int64_t x, int64_t y, int64_t z) {
                  return plan.rowGradientOffset(p, x, y, z);
                }));
      panel.Set("columnGradientOffsets", offsets(grids.columnGradient, [&](int64_t x, int64_t y, int64_t) {
                  return plan.columnGradientOffset(x, y);
                }));
    }
    panels.Set(uint32_t(p), panel);
  }
  out.Set("panelList", panels);
  return out;
}

// cudaPanelEmulation(x, y, { rows, cols?, dim, logScale?, symmetric?, targets?, groups?: { rows, cols },
// precision, memoryBudget?, storageScale?, warpPart?: 'sm80' | 'sm90a' | 'sm100a', oneExponential? }) → the result
// object of a loss call (backend 'cuda') with epilogueCounts: the GPU's panel gradient pass run
// on the host (panel_emulation.h), synchronously: for tests, on small inputs.
Napi::Value cudaPanelEmulation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(env, info[2], "options",
                  {"rows", "cols", "dim", "logScale", "symmetric", "targets", "groups", "precision", "memoryBudget",
                   "storageScale", "warpPart", "oneExponential"});
  LossProblem p;
  p.rows = o.integer("rows", 1, 1LL << 31);
  p.dim = o.integer("dim", 1, 1LL << 31);
  p.cols = o.optionalInteger("cols", 1, 1LL << 31).value_or(p.rows);
  p.x = float32Array(env, info[0], "x", p.rows * p.dim, "rows × dim").Data();
  p.y = float32Array(env, info[1], "y", p.cols * p.dim, "cols × dim").Data();
  p.logScale = o.optionalNumber("logScale").value_or(kDefaultLogScale);
  p.symmetric = o.optionalBoolean("symmetric").value_or(true);
  if (o.has("targets")) p.targets = int32Array(env, o.get("targets"), "targets", p.rows, "rows").Data();
  if (o.has("groups")) {  // { rows, cols } only: the loss's one-array-per-pair form is expanded by the caller
    const Options groups(env, o.get("groups"), "groups", {"rows", "cols"});
    p.rowGroups = int32Array(env, groups.get("rows"), "groups.rows", p.rows, "rows").Data();
    p.columnGroups = int32Array(env, groups.get("cols"), "groups.cols", p.cols, "cols").Data();
  }
  cuda::PanelEmulation emulation;
  emulation.storage = o.optionalChoice("precision", {"bf16", "fp16"}).value_or("bf16") == "fp16"
                          ? cuda::EmulatedStorage::Float16
                          : cuda::EmulatedStorage::BFloat16;
  emulation.memoryBudget = o.optionalInteger("memoryBudget", 0, int64_t(1) << 53).value_or(emulation.memoryBudget);
  emulation.storageScale = float(o.optionalNumber("storageScale").value_or(0.0));
  const std::string warpPart = o.optionalChoice("warpPart", {"sm80", "sm90a", "sm100a"}).value_or("sm80");
  if (warpPart == "sm90a") emulation.statisticsPart = {16, 128};
  if (warpPart == "sm100a") emulation.statisticsPart = {32, 64};
  emulation.oneExponential = o.optionalBoolean("oneExponential").value_or(true);
  Napi::Float32Array gradX = Napi::Float32Array::New(env, size_t(p.rows * p.dim));
  Napi::Float32Array gradY = Napi::Float32Array::New(env, size_t(p.cols * p.dim));
  LossResult r;
  r.gradX = gradX.Data();
  r.gradY = gradY.Data();
  cuda::EpilogueCounts counts;
  try {
    counts = cuda::emulatePanelLoss(p, emulation, r);
  } catch (const Error& e) {
    throw toJsError(env, e);
  }
  Napi::Object out = lossResultObject(env, r, gradX, gradY, "cuda");
  Napi::Object countsObject = Napi::Object::New(env);
  countsObject.Set("statisticsOne", double(counts.statisticsOneExponential));
  countsObject.Set("statisticsTwo", double(counts.statisticsTwoExponentials));
  countsObject.Set("termsOne", double(counts.termsOneExponential));
  countsObject.Set("termsTwo", double(counts.termsTwoExponentials));
  out.Set("epilogueCounts", countsObject);
  return out;
}

// cudaMainLoopChoice(required: 'auto' | 'sm90a' | 'sm100a', { panels, sm90aBuilt, sm100aBuilt,
// computeCapability: '9.0' }) → { loop, refusal }: the GPU's choice of main loop (schedule/main_loop.h),
// for tests on a machine without a GPU.
Napi::Value cudaMainLoopChoice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwTypeError(env, "required: expected 'auto', 'sm90a' or 'sm100a'");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name != "auto" && name != "sm90a" && name != "sm100a")
    throwRangeError(env, "required: expected 'auto', 'sm90a' or 'sm100a', got '" + name + "'");
  const Options o(env, info[1], "candidates", {"panels", "sm90aBuilt", "sm100aBuilt", "computeCapability"});
  cuda::MainLoopCandidates c;
  c.panels = o.optionalBoolean("panels").value_or(false);
  c.sm90aBuilt = o.optionalBoolean("sm90aBuilt").value_or(false);
  c.sm100aBuilt = o.optionalBoolean("sm100aBuilt").value_or(false);
  if (o.has("computeCapability") && !o.get("computeCapability").IsString())
    throwTypeError(env, "candidates.computeCapability: expected a string such as '9.0'");
  const std::string capability =
      o.has("computeCapability") ? o.get("computeCapability").As<Napi::String>().Utf8Value() : "0.0";
  if (std::sscanf(capability.c_str(), "%d.%d", &c.major, &c.minor) != 2)
    throwRangeError(env, "candidates.computeCapability: expected 'major.minor', got '" + capability + "'");
  const cuda::MainLoopChoice choice = cuda::chooseMainLoop(
      name == "sm90a" ? INFONCE_MAIN_LOOP_SM90A : name == "sm100a" ? INFONCE_MAIN_LOOP_SM100A : INFONCE_MAIN_LOOP_AUTO, c);
  Napi::Object out = Napi::Object::New(env);
  out.Set("loop", cuda::mainLoopName(choice.loop));
  out.Set("refusal", choice.refusal.empty() ? env.Null() : Napi::Value(Napi::String::New(env, choice.refusal)));
  return out;
}

}  // namespace infonce::bindings
