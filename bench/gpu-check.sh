#!/usr/bin/env bash
# Everything the GPU machine checks, in one call (see shared/device/README.md): the card, small cases
# against the reference (under compute-sanitizer only when they fail, to locate the fault), the test
# suite with its GPU backends, and the GPU benchmark. Logs and JSON go to $OUT. Run from the project
# root with Node on PATH (bash .device/run.sh does that) and the build outputs in place (bench/gpu-pack.sh).
#   GPU_BENCH_SIZES (default 16384,65536) at bf16, fp32 and tf32; GPU_BENCH_LARGEST (default 262144) at bf16.
set -uo pipefail
# The sm_90 build with source lines that bench/gpu-pack.sh made, if it is here.
[ -f build-gpu/infonce_cuda.so ] && export INFONCE_CUDA_LIBRARY="$PWD/build-gpu/infonce_cuda.so"
out=${OUT:-/tmp/infonce-gpu}
mkdir -p "$out"
step() { echo; echo "=== $* ($(date +%T))"; }

step card
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/nvidia-smi.txt"
node -e "import('./dist/lib/info.js').then(m => console.log(JSON.stringify(m.backendInfo().cuda)))" | tee "$out/backend.json"

step "small cases against the reference"
if ! node dist/bench/gpu-smoke.js > "$out/smoke.log" 2>&1; then
  cat "$out/smoke.log"
  if command -v compute-sanitizer > /dev/null; then
    step "memcheck"
    timeout 240 compute-sanitizer --tool memcheck --print-limit 10 node dist/bench/gpu-smoke.js --quick > "$out/memcheck.log" 2>&1
    grep -E "^=========" "$out/memcheck.log" | head -40
    step "racecheck"
    timeout 240 compute-sanitizer --tool racecheck --print-limit 10 node dist/bench/gpu-smoke.js --quick > "$out/racecheck.log" 2>&1
    grep -E "^=========" "$out/racecheck.log" | head -40
  fi
  smoke_failed=1
else
  cat "$out/smoke.log"
  smoke_failed=0
fi

if [ -z "${GPU_SKIP_TESTS:-}" ]; then
  step "test suite"
  node --import tsx node_modules/uvu/bin.js test '\.test\.ts$' > "$out/test.log" 2>&1
  sed 's/\x1b\[[0-9;]*m//g' "$out/test.log" | grep -E "FAIL|Total|Passed|Skipped|seed [0-9]+:|Error" | head -60
fi

if [ "$smoke_failed" = 1 ]; then
  step "benchmark skipped: the small cases failed"
  exit 1
fi
step "benchmark"
# INFONCE_CUDA_PROFILE: each call's phases (statistics pass, gradient pass, ...) go to bench.err.
bench() { INFONCE_CUDA_PROFILE=1 node dist/lib/cli.js bench --device cuda --dim 1024 --json "$@" >> "$out/bench.jsonl" 2>> "$out/bench.err"; }
bench --sizes "${GPU_BENCH_SIZES:-16384,65536}" --precision "${GPU_BENCH_PRECISIONS:-bf16,fp32,tf32}" --repeats 3
bench --sizes "${GPU_BENCH_LARGEST:-262144}" --precision bf16 --repeats 2
node -e "
const rows = require('fs').readFileSync('$out/bench.jsonl', 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
import('./dist/bench/cuda.js').then(m => console.log(m.formatCudaTable(rows)));
" | tee "$out/bench.txt"
grep -v "^infonce cuda profile" "$out/bench.err" | tail -n 5
grep "^infonce cuda profile" "$out/bench.err" | cut -c1-330
step done
