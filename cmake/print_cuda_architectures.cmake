# cmake [-DINFONCE_CUDA_NATIVE=ON] -P cmake/print_cuda_architectures.cmake: prints the list the build
# would use and why (for the tests).
include(${CMAKE_CURRENT_LIST_DIR}/cuda_architectures.cmake)
message("${INFONCE_DEFAULT_CUDA_ARCHITECTURES}|${INFONCE_CUDA_ARCHITECTURES_REASON}")
