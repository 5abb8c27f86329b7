#!/usr/bin/env bash
# `bash bench/loss-features.sh [work-dir]`: the suite experiments behind the README's "Matryoshka
# dimensions" and "Several positives" (run by hand: eight trainings of the suite recipe, about 30
# minutes on 2 cores). Trains, on the suite's training pairs (200 steps of 4,096, D = 256):
#   full   the default recipe (seed 1; seeds 2 and 3 as mask2, mask3)
#   mat    --matryoshka 32,64,128 (seed 1)
#   d64    --dim 64 (seed 1)
#   pos1-3 --positives groups (seeds 1-3)
# then scores full, mat and d64 at 32, 64, 128 and their own dim (eval --dims), and the masked against
# the positives runs. Writes bench/results/loss-features/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/infonce-loss-features-XXXXXX")}"
out="$root/bench/results/loss-features"
mkdir -p "$work" "$out"
cd "$work"
infonce() { node "$root/dist/lib/cli/index.js" "$@"; }
trained() { echo "$1 trained in $2 s" | tee -a "$out/times.txt"; }
: > "$out/times.txt"
infonce pairs suite --out train.jsonl
run() {
  local name="$1"; shift
  local started; started=$(date +%s)
  infonce train --pairs train.jsonl --out "$name" --steps 200 --overwrite "$@" > "$name.log" 2>&1
  trained "$name" $(( $(date +%s) - started ))
}
run full --seed 1
run mat --seed 1 --matryoshka 32,64,128
run d64 --seed 1 --dim 64
for seed in 1 2 3; do run "pos$seed" --seed "$seed" --positives groups; done
for seed in 2 3; do run "mask$seed" --seed "$seed"; done
ln -sfn full mask1
infonce eval --suite default --model full/model --model mat/model --model d64/model --dims 32,64,128 > "$out/matryoshka-eval.txt"
infonce eval --suite default --model full/model --model mat/model --model d64/model --dims 32,64,128 --json > "$out/matryoshka-eval.jsonl"
infonce eval --suite default --model mask1/model --model pos1/model --model mask2/model --model pos2/model --model mask3/model \
  --model pos3/model --json > "$out/positives-eval.jsonl"
echo "results in $out"
