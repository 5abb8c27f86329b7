# cmake [-DINFONCE_CUDA_NATIVE=ON] [-DINFONCE_CUDA=...] -P cmake/print_cuda_wanted.cmake: prints whether
# the build would compile the CUDA backend and why (for the tests).
include(${CMAKE_CURRENT_LIST_DIR}/cuda_wanted.cmake)
message("${INFONCE_CUDA_WANTED}|${INFONCE_CUDA_WANTED_REASON}")
