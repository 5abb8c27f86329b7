#!/usr/bin/env bash
# Times the two commands of the README's first screen as a newcomer runs them: a fresh clone of this
# commit, `npm ci && npx infonce demo`, then `npm test`, with the machine's own environment (no
# INFONCE_CUDA: a source build without a visible GPU leaves CUDA out). Writes the record the README's
# first screen quotes (bench/results/first-commands.json; test/readme.test.ts holds the two together).
# About 20 minutes on the 2-core build machine; run it on an otherwise idle machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/infonce-first-XXXXXX")"
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/infonce"
cd "$work/infonce"
unset INFONCE_CUDA
seconds() { awk -v now="$(date +%s.%N)" -v start="$1" 'BEGIN { print now - start }'; }

echo "first commands: npm ci (log in $work/npm-ci.log)" >&2
start=$(date +%s.%N)
npm ci --no-audit --no-fund > "$work/npm-ci.log" 2>&1 || { tail -30 "$work/npm-ci.log"; exit 1; }
install=$(seconds "$start")
echo "first commands: npm ci took ${install%.*} s; npx infonce demo" >&2
start=$(date +%s.%N)
npx infonce demo > "$work/demo.log" 2>&1 || { tail -30 "$work/demo.log"; exit 1; }
demo=$(seconds "$start")
echo "first commands: the demo took ${demo%.*} s; npm test" >&2
start=$(date +%s.%N)
status=0
# INFONCE_FIRST_COMMANDS: the one test that checks this record against the README waits for it.
INFONCE_FIRST_COMMANDS=1 npm test > "$work/test.log" 2>&1 || status=$?
tests=$(seconds "$start")
echo "first commands: npm test took ${tests%.*} s (exit $status)" >&2
if [ "$status" -ne 0 ]; then
  sed 's/\x1b\[[0-9;]*m//g' "$work/test.log" | grep -E -A12 "FAIL" | head -80 >&2
  cp "$work/test.log" "${TMPDIR:-/tmp}/first-commands-test.log"
  echo "first commands: the whole log is in ${TMPDIR:-/tmp}/first-commands-test.log" >&2
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
node -e '
const [install, demo, tests, status, commit, cpu, cores, file] = process.argv.slice(1);
const record = {
  date: new Date().toISOString().slice(0, 10), commit, machine: `${cpu}, ${cores} cores`,
  npm_ci_s: Math.round(Number(install)), demo_s: Math.round(Number(demo)), npm_test_s: Math.round(Number(tests)), npm_test_exit: Number(status),
};
require("fs").writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
console.log(JSON.stringify(record));
' "$install" "$demo" "$tests" "$status" "$(git rev-parse --short HEAD)" "$cpu" "$(nproc)" "$root/bench/results/first-commands.json"
