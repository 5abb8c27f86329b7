# Which GPUs the CUDA backend is compiled for (sets INFONCE_DEFAULT_CUDA_ARCHITECTURES):
#   - INFONCE_CUDA_ARCHITECTURES in the environment: that list (e.g. "80-real;90-real");
#   - a user's source build (the install step passes INFONCE_CUDA_NATIVE=ON): the GPUs nvidia-smi
#     reports, machine code for each (minutes instead of the ~10 a fat binary takes on 2 cores);
#   - otherwise (the platform package, CI, a build without a visible GPU): Turing to Blackwell, sm_100
#     data centre and sm_120 workstation (their minor versions run it too), and compute_90 PTX for any
#     other GPU from Hopper on (the driver JITs it).
set(INFONCE_ALL_CUDA_ARCHITECTURES "75-real;80-real;86-real;89-real;90-real;100-real;120-real;90-virtual")
set(INFONCE_DEFAULT_CUDA_ARCHITECTURES "${INFONCE_ALL_CUDA_ARCHITECTURES}")
set(INFONCE_CUDA_ARCHITECTURES_REASON "every supported GPU")
if(DEFINED ENV{INFONCE_CUDA_ARCHITECTURES} AND NOT "$ENV{INFONCE_CUDA_ARCHITECTURES}" STREQUAL "")
  set(INFONCE_DEFAULT_CUDA_ARCHITECTURES "$ENV{INFONCE_CUDA_ARCHITECTURES}")
  set(INFONCE_CUDA_ARCHITECTURES_REASON "INFONCE_CUDA_ARCHITECTURES")
elseif(INFONCE_CUDA_NATIVE)
  find_program(INFONCE_NVIDIA_SMI nvidia-smi)
  if(INFONCE_NVIDIA_SMI)
    execute_process(COMMAND ${INFONCE_NVIDIA_SMI} --query-gpu=compute_cap --format=csv,noheader
                    OUTPUT_VARIABLE capabilities RESULT_VARIABLE status ERROR_QUIET)
    string(REGEX MATCHALL "[0-9]+\\.[0-9]+" capabilities "${capabilities}")
    if(status EQUAL 0 AND capabilities)
      set(present "")
      foreach(capability IN LISTS capabilities)
        string(REPLACE "." "" arch "${capability}")
        list(APPEND present "${arch}-real")
      endforeach()
      list(REMOVE_DUPLICATES present)
      list(SORT present)
      set(INFONCE_DEFAULT_CUDA_ARCHITECTURES "${present}")
      set(INFONCE_CUDA_ARCHITECTURES_REASON "the GPUs of this machine (nvidia-smi)")
    endif()
  endif()
endif()
