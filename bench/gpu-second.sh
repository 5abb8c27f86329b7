#!/usr/bin/env bash
# The second call on the lent GPU machine, when the first (bench/gpu-first.sh) has answered and time
# is left: what can wait. At most 9 minutes of command time; logs to $OUT, and the record written again
# with these steps' results (tests, racecheck) beside the first call's, if its $OUT is still there.
#   1. compute-sanitizer racecheck of the panel kernels (one small case; memcheck when the smoke failed);
#   2. the test files that exercise a GPU backend (bench/gpu-modules.ts names them; the pack carries
#      exactly their modules);
#   3. the wider benchmark: fp32, the largest M at bf16 panels, D = 256 and 4,096, the sm_100a loop on a
#      10.0 card, two exponentials per logit against one, the batch-size experiment's D = 256; then
#      the phase report beside bench/gpu-predictions.json;
#   4. static models we save (Model2Vec, sentence-transformers) loaded by Python's libraries, against our
#      embeddings (bench/static-interop.ts and .py).
#   GPU_BENCH_SIZES (default 16384,65536); GPU_BENCH_LARGEST (default 262144); GPU_BENCH_DIMS (default 256,4096).
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/gpu-steps.sh
use_gpu_build

sanitize() {  # tool, log, smoke arguments...
  local tool=$1 log=$2
  shift 2
  command -v compute-sanitizer > /dev/null || { echo "no compute-sanitizer"; return 2; }
  compute-sanitizer --tool "$tool" --print-limit 10 node dist/bench/gpu-smoke.js "$@" > "$out/$log" 2>&1
  grep -E "^=========" "$out/$log" | head -40
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/$log" | tail -2
}
tests() {
  node --import tsx node_modules/uvu/bin.js test "$(node dist/bench/gpu-modules.js --test-pattern)" > "$out/test.log" 2>&1
  local status=$?
  sed 's/\x1b\[[0-9;]*m//g' "$out/test.log" | grep -E "FAIL|Total|Passed|Skipped|seed [0-9]+:|Error" | head -60
  return $status
}
bench() {  # the bench's arguments; rows to bench.jsonl, profiles to bench.err
  INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --json "$@" >> "$out/bench.jsonl" 2>> "$out/bench.err"
}
apart() {  # the file, then the bench's arguments: a run with a development switch, kept apart
  local file=$1
  shift
  INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda "$@" >> "$out/$file" 2>&1
  grep -v "^infonce cuda profile" "$out/$file" | tail -n 8
}
wider() {
  bench --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" --precision fp32 --repeats 3
  bench --dim 1024 --sizes "${GPU_BENCH_LARGEST:-262144}" --precision bf16 --gpu-schedule panels --repeats 2
  for dim in $(echo "${GPU_BENCH_DIMS:-256,4096}" | tr ',' ' '); do
    bench --dim "$dim" --sizes 65536 --precision bf16 --gpu-schedule tiles,panels --repeats 3
  done
}
tcgen05() {
  [ "$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)" = "10.0" ] || { echo "not a 10.0 GPU"; return 0; }
  INFONCE_CUDA_TCGEN05=1 apart bench-tcgen05.txt --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" --precision bf16 --gpu-schedule panels --repeats 3
}
two_exponentials() {
  for dim in 256 1024; do
    INFONCE_CUDA_TWO_EXPONENTIALS=1 apart bench-two-exponentials.txt --dim "$dim" --sizes 65536 --precision bf16 --gpu-schedule panels --repeats 3
  done
  node -e "const o = require('./bench/gpu-predictions.json').oneExponential; console.log('predicted, one exponential per logit:', JSON.stringify(o.predicted))"
}
batch_size() { apart batch-size-gpu.txt --dim 256 --sizes 1024,4096,16384,65536 --precision fp32 --repeats 3; }
# Static models we save, loaded by Python's sentence-transformers (and model2vec, if there): issue 29's check.
interop() {
  node dist/bench/static-interop.js --out "$out/static-interop" > "$out/static-interop.log" 2>&1 || { tail -5 "$out/static-interop.log"; return 1; }
  python3 bench/static-interop.py "$out/static-interop/interop.json" | tee -a "$out/static-interop.log"
}
report() { node dist/bench/gpu-report.js "$out/bench.jsonl" "$out/bench.err" bench/gpu-predictions.json | tee "$out/bench.txt"; }
export -f sanitize tests bench apart wider tcgen05 two_exponentials batch_size interop report

if grep -q "^FAIL" "$out/smoke.log" 2> /dev/null; then step "memcheck of the small cases (the smoke failed)" 120 sanitize memcheck memcheck.log --quick; fi
step "racecheck of the panel kernels" 120 sanitize racecheck racecheck.log --quick --panels-only
step "the test files with a GPU backend" 150 tests
step "the wider benchmark" 120 wider
step "the sm_100a loop (INFONCE_CUDA_TCGEN05=1; 10.0 only)" 30 tcgen05
step "two exponentials per logit against one" 40 two_exponentials
step "the batch-size experiment's loss on the GPU" 30 batch_size
step "static models we save, loaded by sentence-transformers" 40 interop
step "phase report and predictions" 20 report
step record 15 node dist/bench/gpu-record.js "$out"
