// Which main loop runs a loss call on the GPU, and why a development switch that asks for one loop
// cannot have it. Plain C++ (no CUDA): loss_orchestration.cu decides with it, and the CPU addon
// compiles it too (loader and tests), so that the tests check every refusal on a machine without a GPU.
//
// A switch that cannot be honoured is an error, never a quiet fallback: a GPU run that set
// INFONCE_CUDA_WGMMA=1 on a card or build without the sm_90a loop would otherwise check the sm_80
// loop and report it as the sm_90a one.
#pragma once

#include <string>

#include "infonce_cuda_abi.h"

namespace infonce::cuda {

struct MainLoopChoice {
  InfonceMainLoop loop = INFONCE_MAIN_LOOP_TILES;
  std::string refusal;  // non-empty: the required loop cannot run, and why
};

struct MainLoopCandidates {
  bool panels = false;       // the panel schedule was chosen (gpuSchedule 'panels', 16-bit, large tiles, 8.0+)
  bool sm90aBuilt = false;   // the backend holds the sm_90a kernels
  bool sm100aBuilt = false;  // the backend holds the sm_100a kernels
  int major = 0, minor = 0;  // the GPU's compute capability
};

inline const char* mainLoopName(InfonceMainLoop loop) {
  switch (loop) {
    case INFONCE_MAIN_LOOP_SM80: return "sm80";
    case INFONCE_MAIN_LOOP_SM90A: return "sm90a";
    case INFONCE_MAIN_LOOP_SM100A: return "sm100a";
    case INFONCE_MAIN_LOOP_TILES: return "tiles";
    default: return "auto";
  }
}

// `required`: INFONCE_MAIN_LOOP_AUTO (the package's own choice), or the loop a development switch
// demands (SM90A for INFONCE_CUDA_WGMMA=1, SM100A for INFONCE_CUDA_TCGEN05=1).
inline MainLoopChoice chooseMainLoop(InfonceMainLoop required, const MainLoopCandidates& c) {
  MainLoopChoice choice;
  choice.loop = c.panels ? INFONCE_MAIN_LOOP_SM80 : INFONCE_MAIN_LOOP_TILES;
  if (required != INFONCE_MAIN_LOOP_SM90A && required != INFONCE_MAIN_LOOP_SM100A) return choice;
  const bool hopper = required == INFONCE_MAIN_LOOP_SM90A;
  const std::string wanted = std::string(hopper ? "INFONCE_CUDA_WGMMA=1 asks for the sm_90a main loop (wgmma + TMA)"
                                                : "INFONCE_CUDA_TCGEN05=1 asks for the sm_100a main loop (tcgen05 + TMEM)") +
                             ", which cannot run this call: ";
  const std::string card = std::to_string(c.major) + "." + std::to_string(c.minor);
  if (!(hopper ? c.sm90aBuilt : c.sm100aBuilt))
    choice.refusal = wanted + "this CUDA backend was built without " + (hopper ? "sm_90a" : "sm_100a") +
                     " code (INFONCE_CUDA_ARCHITECTURES has no " + (hopper ? "90" : "100") + " entry)";
  else if (hopper ? !(c.major == 9 && c.minor == 0) : !(c.major == 10 && c.minor == 0))
    choice.refusal = wanted + "it runs on compute capability " + (hopper ? "9.0 (H100, H200)" : "10.0 (B200, GB200)") +
                     " only, and this GPU is " + card;
  else if (!c.panels)
    choice.refusal = wanted + "it runs the panel schedule only (gpuSchedule 'panels', precision 'bf16' or 'fp16', "
                              "tiles 'auto')";
  else
    choice.loop = required;
  return choice;
}

}  // namespace infonce::cuda
