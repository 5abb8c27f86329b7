#!/usr/bin/env bash
# The first call on the lent GPU machine: "is it right, and how fast", in at most 5 minutes of command
# time, and the record of it. Run from the project root with Node on PATH (bash .device/run.sh does
# that) and what bench/gpu-pack.sh built in place; logs and the record go to $OUT:
#   1. the card and the CUDA backend (nvidia-smi.txt, backend.json);
#   2. the main loops alone against a float64 product: the sm_80 panel loop (gemm_check) and, on a 9.0
#      card, the sm_90a wgmma + TMA loop (wgmma_check);
#   3. small cases of every precision, tile shape and schedule against the float64 reference, each
#      twice and bit-identical, and shapes with several tiles per persistent block (gpu-smoke.ts);
#   4. bf16 at D = 1,024, M = N = 16,384 and 65,536: the tiles, the panels on the sm_80 loop and on the
#      sm_90a loop, beside PyTorch's naive loss and torch.matmul (bench.jsonl, bench-wgmma.jsonl);
#   5. the record, gpu-<date>.json (bench/gpu-record.ts), to commit as bench/results/gpu-<date>.json.
# bench/gpu-second.sh (a second call, when time is left) runs the test suite, racecheck and the wider bench.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/gpu-steps.sh
use_gpu_build

card() {
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,compute_cap --format=csv | tee "$out/nvidia-smi.txt"
  node -e "import('./dist/lib/info.js').then(m => console.log(JSON.stringify(m.backendInfo().cuda)))" | tee "$out/backend.json"
}
check() {  # a main-loop check binary, if carried
  if [ -x "build-gpu/$1" ]; then "build-gpu/$1" | tee "$out/$1.log"; else echo "build-gpu/$1 not carried"; fi
}
smoke() {
  node dist/bench/gpu-smoke.js --multi-tile > "$out/smoke.log" 2>&1
  local status=$?
  cat "$out/smoke.log"
  return $status
}
bench() {  # the rows' file (X.jsonl; each call's phases go to X.err), then the bench's arguments
  local file=$1
  shift
  INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --json --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" \
    --precision bf16 --repeats 3 "$@" >> "$out/$file" 2>> "$out/${file%.jsonl}.err"
  tail -n 4 "$out/$file"
}

bench_wgmma() { INFONCE_CUDA_WGMMA=1 bench bench-wgmma.jsonl --gpu-schedule panels --no-peers; }
export -f card check smoke bench bench_wgmma

step card 15 card
step "the sm_80 panel main loop alone (gemm_check)" 45 check gemm_check
step "the sm_90a main loop alone (wgmma_check: TMA + wgmma; 9.0 only)" 45 check wgmma_check
step "small cases and multi-tile shapes against the reference, each twice (gpu-smoke)" 70 smoke
step "bf16 tiles and panels (sm_80 loop) beside PyTorch" 65 bench bench.jsonl --gpu-schedule tiles,panels
step "bf16 panels on the sm_90a loop (INFONCE_CUDA_WGMMA=1)" 40 bench_wgmma
step record 15 node dist/bench/gpu-record.js "$out"
