// Pass 1 of the panel schedule (statistics_pass.cu's panel instantiation, statistics_pass_sm90.cu,
// statistics_pass_sm100.cu)
// run on the host, tile by tile and warp part by warp part, with the kernels' own choice between one
// and two exponentials per logit (epilogue_math.h). Internal to panel_emulation.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/panel_emulation.h"  // WarpPart

namespace infonce::cuda {

struct MergedStatistics {  // per line, as row_kernels.cu's mergeKernel leaves them
  std::vector<float> max, logSum;
  std::vector<double> logSumExp;
};

struct EmulatedStatistics {
  MergedStatistics rows, cols;
  int64_t oneExponentialParts = 0, twoExponentialParts = 0;  // warp parts of tiles, by the choice taken
};

// S: M × N row-major, already scaled and masked (kMaskedLogit). allowOneExponential false: two
// exponentials in every part (the comparison the tests make).
EmulatedStatistics emulateStatistics(const std::vector<float>& S, int64_t M, int64_t N, const WarpPart& part,
                                     bool allowOneExponential);

}  // namespace infonce::cuda
