#!/usr/bin/env bash
# Installs the benchmarks' peers on Debian: PyTorch (CPU) for its naive loss, NumPy with OpenBLAS for
# the sgemm roofline (without libopenblas, Debian's NumPy and PyTorch fall back to the reference
# BLAS, ~100× slower), and threadpoolctl, which tells which BLAS kernels ran.
# The benchmarks run without them and say "not installed".
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update
$sudo apt-get install -y python3-torch python3-numpy libopenblas0-pthread python3-threadpoolctl
/usr/bin/python3 -c 'import torch, numpy, threadpoolctl; print("torch", torch.__version__, "numpy", numpy.__version__, threadpoolctl.threadpool_info())'
