#!/usr/bin/env bash
# Installs the benchmarks' peers on Debian: PyTorch (CPU) and NumPy for /usr/bin/python3.
# The benchmarks run without them and say "not installed".
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update
$sudo apt-get install -y python3-torch python3-numpy
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
