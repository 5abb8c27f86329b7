#pragma once

#include <string>

namespace infonce::cuda {

// Throws Failure if the emulated and the real products differ; returns the report otherwise.
std::string selfTest(int device);

}  // namespace infonce::cuda
