#!/usr/bin/env bash
# Everything the GPU machine checks, in one call (see shared/device/README.md); planned to fit in about
# 6 minutes on an H100/H200 (not yet timed on one: give the run 8). Logs and JSON go to $OUT:
#   1. the card and the CUDA backend;
#   2. the panel kernels' main loop alone, every operand layout, against a float64 product (gemm_check,
#      8 warps and, for dU/dV, 4 warps of 64 × 64), the sm_90a wgmma + TMA loop likewise (wgmma_check; on
#      compute capability 9.0 only) and the sm_100a tcgen05 loop (tcgen05_check; on 10.0 only, if carried);
#      small cases of every precision, tile shape and gradient schedule against the float64 reference,
#      each twice and bit-identical (bench/gpu-smoke.ts), memcheck and racecheck when one fails;
#   3. compute-sanitizer racecheck on the experimental panel kernels (one small case), always;
#   4. the test suite with its GPU backends (the panel kernels included);
#   5. the benchmark: the tile kernel and the panels (also on the sm_90a loop, or the sm_100a one on a 10.0
#      GPU; and with two exponentials per logit, INFONCE_CUDA_TWO_EXPONENTIALS=1, for the A/B) beside
#      PyTorch's naive loss and torch.matmul, each phase timed (INFONCE_CUDA_PROFILE), and the predictions
#      of bench/gpu-predictions.json.
# Run from the project root with Node on PATH (bash .device/run.sh does that) and the build outputs in
# place (bench/gpu-pack.sh).
#   GPU_BENCH_SIZES (default 16384,65536) at bf16 (tiles and panels) and fp32; GPU_BENCH_LARGEST
#   (default 262144) at bf16 panels; GPU_BENCH_DIMS (default 256,4096) at 65536, bf16 panels.
set -uo pipefail
# The sm_90 build with source lines that bench/gpu-pack.sh made, if it is here, where the addon looks
# (INFONCE_CUDA_LIBRARY would be opened only for explicit GPU requests, not for backend 'auto').
[ -f build-gpu/infonce_cuda.so ] && mkdir -p build/Release && cp build-gpu/infonce_cuda.so build/Release/infonce_cuda.so
out=${OUT:-/tmp/infonce-gpu}
mkdir -p "$out"
step() { echo; echo "=== $* ($(date +%T))"; }
sanitize() {  # tool, log, smoke arguments...
  local tool=$1 log=$2
  shift 2
  timeout 240 compute-sanitizer --tool "$tool" --print-limit 10 node dist/bench/gpu-smoke.js "$@" > "$out/$log" 2>&1
  grep -E "^=========" "$out/$log" | head -40
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/$log" | tail -2
}

step card
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/nvidia-smi.txt"
node -e "import('./dist/lib/info.js').then(m => console.log(JSON.stringify(m.backendInfo().cuda)))" | tee "$out/backend.json"

step "the panel main loop alone (native/cuda/dev/gemm_check.cu)"
if [ -x build-gpu/gemm_check ]; then build-gpu/gemm_check | tee "$out/gemm_check.log"; else echo "build-gpu/gemm_check not carried"; fi

step "the sm_90a main loop alone (native/cuda/dev/wgmma_check.cu: TMA + wgmma; the loss uses it with INFONCE_CUDA_WGMMA=1)"
if [ -x build-gpu/wgmma_check ]; then timeout 120 build-gpu/wgmma_check | tee "$out/wgmma_check.log"; else echo "build-gpu/wgmma_check not carried"; fi
node -e "const w = require('./bench/gpu-predictions.json').wgmma; console.log('predicted TFLOP/s at 8192³:', JSON.stringify(w.wgmma_check_tflops))"

step "the sm_100a main loop alone (native/cuda/dev/tcgen05_check.cu: TMA + tcgen05 + TMEM; B200/GB200 only)"
if [ -x build-gpu/tcgen05_check ]; then timeout 120 build-gpu/tcgen05_check | tee "$out/tcgen05_check.log"; else echo "build-gpu/tcgen05_check not carried"; fi

step "small cases against the reference, each twice (tiles and panels)"
if ! node dist/bench/gpu-smoke.js > "$out/smoke.log" 2>&1; then
  cat "$out/smoke.log"
  if command -v compute-sanitizer > /dev/null; then
    step memcheck
    sanitize memcheck memcheck.log --quick
  fi
  smoke_failed=1
else
  cat "$out/smoke.log"
  smoke_failed=0
fi

if command -v compute-sanitizer > /dev/null; then
  step "racecheck of the panel kernels"
  sanitize racecheck racecheck.log --quick --panels-only
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
# INFONCE_CUDA_PROFILE: each call's phases (statistics pass, each panel kernel, ...) go to bench.err.
bench() { INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --json "$@" >> "$out/bench.jsonl" 2>> "$out/bench.err"; }
bench --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" --precision bf16 --gpu-schedule tiles,panels --repeats 3
bench --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" --precision fp32 --repeats 3
bench --dim 1024 --sizes "${GPU_BENCH_LARGEST:-262144}" --precision bf16 --gpu-schedule panels --repeats 2
# The panel kernels on the sm_90a main loop (in development; 9.0 GPUs only), apart: bench-wgmma.txt.
INFONCE_CUDA_WGMMA=1 INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" \
  --precision bf16 --gpu-schedule panels --repeats 3 > "$out/bench-wgmma.txt" 2>&1 || true
# The panel gradient kernels on the sm_100a loop (in development; 10.0 GPUs only), apart: bench-tcgen05.txt.
if [ "$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)" = "10.0" ]; then
  INFONCE_CUDA_TCGEN05=1 INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --dim 1024 --sizes "${GPU_BENCH_SIZES:-16384,65536}" \
    --precision bf16 --gpu-schedule panels --repeats 3 > "$out/bench-tcgen05.txt" 2>&1 || true
fi
for dim in $(echo "${GPU_BENCH_DIMS:-256,4096}" | tr ',' ' '); do
  bench --dim "$dim" --sizes 65536 --precision bf16 --gpu-schedule tiles,panels --repeats 3
done
# What one exponential per logit saves (native/cuda/epilogue_math.h): the panels with two everywhere
# (INFONCE_CUDA_TWO_EXPONENTIALS=1, a benchmark switch), beside the rows above: bench-two-exponentials.txt.
for dim in 256 1024; do
  INFONCE_CUDA_TWO_EXPONENTIALS=1 INFONCE_CUDA_PROFILE=1 node dist/bench/cli.js --backend cuda --dim "$dim" --sizes 65536 \
    --precision bf16 --gpu-schedule panels --repeats 3 >> "$out/bench-two-exponentials.txt" 2>&1 || true
done
# The batch-size experiment's loss on the GPU (its D = 256, fp32 as the trainer passes it): what a
# GPU buys at each of its sizes (bench/batch-size; the CPU times are in its report).
node dist/bench/cli.js --backend cuda --dim 256 --sizes 1024,4096,16384,65536 --precision fp32 --repeats 3 > "$out/batch-size-gpu.txt" 2>&1 || true
node dist/bench/gpu-report.js "$out/bench.jsonl" "$out/bench.err" bench/gpu-predictions.json | tee "$out/bench.txt"
grep -v "^infonce cuda profile" "$out/bench.err" | tail -n 5
echo "panels on the sm_90a main loop (INFONCE_CUDA_WGMMA=1):"
grep -v "^infonce cuda profile" "$out/bench-wgmma.txt" | tail -n 8
[ -f "$out/bench-tcgen05.txt" ] && { echo "panels on the sm_100a loop (INFONCE_CUDA_TCGEN05=1):"; grep -v "^infonce cuda profile" "$out/bench-tcgen05.txt" | tail -n 8;
  node -e "const t = require('./bench/gpu-predictions.json').tcgen05; console.log('predicted:', JSON.stringify(t.runs), JSON.stringify(t.tcgen05_check_tflops))"; }
echo "panels with two exponentials per logit (INFONCE_CUDA_TWO_EXPONENTIALS=1; the rows above take one where a block allows):"
grep -v "^infonce cuda profile" "$out/bench-two-exponentials.txt" | tail -n 8
grep "^infonce cuda profile" "$out/bench-two-exponentials.txt" | tail -n 2
node -e "const o = require('./bench/gpu-predictions.json').oneExponential; console.log('predicted, one exponential per logit:', JSON.stringify(o.predicted))"
node -e "const j = require('./bench/gpu-predictions.json'), w = j.wgmma; for (const r of w.runs) console.log('predicted:', JSON.stringify(r)); console.log('predicted phases:', JSON.stringify(w.phases_tflops), 'persistent G/dU/dV:', JSON.stringify(j.persistentSm90.phases_tflops))"
step done
