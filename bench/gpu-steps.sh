# Sourced by bench/gpu-first.sh and gpu-second.sh: where the logs go, and `step`, which runs one step
# under its own time limit and says how long it took. A step that hangs (a barrier that never
# completes does not fail, it waits) is killed at its limit and the script goes on to the next.
out=${OUT:-/tmp/infonce-gpu}
mkdir -p "$out"
export out
call_began=$(date +%s)

# use_gpu_build: the sm_90 build with source lines that bench/gpu-pack.sh made, if it is here, put
# where the addon looks (INFONCE_CUDA_LIBRARY would be opened only for explicit GPU requests, not for
# backend 'auto'). Called by the device scripts only: sourcing this file changes no build.
use_gpu_build() {
  if [ -f build-gpu/infonce_cuda.so ]; then mkdir -p build/Release && cp build-gpu/infonce_cuda.so build/Release/infonce_cuda.so; fi
}

# step NAME SECONDS COMMAND...: the command (a program, or a function the script exported with
# export -f) and its output as it comes; "NAME|STATUS|SECONDS" in steps.txt (status 124: timed out).
step() {
  local name=$1 budget=$2
  shift 2
  local began status took
  began=$(date +%s)
  echo
  echo "=== $name (at most ${budget} s; $((began - call_began)) s into the call, $(date +%T))"
  timeout --kill-after=10 "$budget" bash -c '"$@"' step "$@"
  status=$?
  took=$(($(date +%s) - began))
  [ "$status" -eq 137 ] && status=124
  if [ "$status" -eq 124 ]; then echo "=== $name: TIMED OUT after ${took} s"; else echo "=== $name: exit $status after ${took} s"; fi
  echo "$name|$status|$took" >> "$out/steps.txt"
  return 0
}
