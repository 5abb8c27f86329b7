#!/usr/bin/env bash
# Prepares the runs of bench/gpu-first.sh (and gpu-second.sh) on the lent GPU machine, which has no
# Node.js and no registry (see shared/device/README.md). Builds here (nvcc needs no GPU): the addon
# and TypeScript as usual, and the CUDA backend for the lent card alone (sm_90: H100/H200) with source
# lines for compute-sanitizer, in build-gpu/. Packs Node (shared/device/pack.sh), the node_modules
# that bench/gpu-modules.ts derives from the run's imports (test/gpu-pack.test.ts checks that they
# suffice), the GPU build's outputs (the backend and the main loops' checks, not its object files),
# and the commit, into .device/ (git-ignored); the device tool carries 64 MiB at most, which the end
# of this script checks. Then call the device tool with carry [".device", "build/Release/infonce.node",
# "dist"] and, with timeout_s 330, the command (the second call, gpu-second.sh, with timeout_s 600, if
# time is left):
#   tar -xJf .device/modules.tar.xz && tar -xJf .device/gpu-build.tar.xz && bash .device/run.sh bash bench/gpu-first.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
npx cmake-js compile
npx tsc -p tsconfig.build.json
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFONCE_CUDA=ON \
  -DINFONCE_CUDA_ARCHITECTURES=90-real -DINFONCE_CUDA_LINEINFO=ON -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/build-gpu"
cmake --build build-gpu --target infonce_cuda
# The panel main loop's own check (native/cuda/dev/gemm_check.cu), for the lent card.
nvcc -std=c++17 --expt-relaxed-constexpr -O3 -arch=sm_90 -Inative/include -Inative/cuda \
  native/cuda/dev/gemm_check.cu -o build-gpu/gemm_check
# The sm_90a main loop's check (native/cuda/dev/wgmma_check.cu: TMA + wgmma), for H100/H200 only.
nvcc -std=c++17 --expt-relaxed-constexpr -O3 -gencode arch=compute_90a,code=sm_90a -Inative/include -Inative/cuda \
  native/cuda/dev/wgmma_check.cu -o build-gpu/wgmma_check
# The sm_100a main loop's check (native/cuda/dev/tcgen05_check.cu: TMA + tcgen05 + TMEM), for a
# B200/GB200 only: on any other card it says so and exits 3. Carry "build-gpu/tcgen05_check" on one.
nvcc -std=c++17 --expt-relaxed-constexpr -O3 -gencode arch=compute_100a,code=sm_100a -Inative/include -Inative/cuda \
  native/cuda/dev/tcgen05_check.cu -o build-gpu/tcgen05_check
bash ../shared/device/pack.sh
mapfile -t modules < <(node dist/bench/gpu-modules.js)
tar -cJf .device/modules.tar.xz "${modules[@]}"
tar -cJf .device/gpu-build.tar.xz build-gpu/infonce_cuda.so build-gpu/gemm_check build-gpu/wgmma_check build-gpu/tcgen05_check
# The commit the run checks ("+uncommitted" when the tree differs from it).
echo "$(git rev-parse --short HEAD)$([ -z "$(git status --porcelain --untracked-files=no)" ] || echo +uncommitted)" > .device/commit
echo "packed ${#modules[@]} node_modules folders: ${modules[*]}"
carried=$(du -cb .device build/Release/infonce.node dist | tail -1 | cut -f1)
echo "carry: $((carried / 1048576)) MiB of the device tool's 64 MiB"
[ "$carried" -le $((64 * 1048576)) ] || { echo "too much to carry: $carried bytes" >&2; exit 1; }
