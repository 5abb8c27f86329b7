// A process's end never turns an asynchronous call into a crash: a worker thread terminated with
// calls in flight, process.exit() inside a worker, and a call made in an 'exit' handler all leave
// the process to end as it would have (before, each ended in std::terminate: the completion's
// failure to settle its promise was rethrown into libuv). Each case runs in a child process.
import { spawnSync } from 'node:child_process';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { addonBinary } from '../lib/native.js';

const test = suite('teardown');

// Runs `script` (CommonJS; `addon` is the addon this test process loaded) in a child Node. The limit
// catches a hang; it is generous because under the sanitizers on a busy 2-core machine the 12 workers'
// queued calls took over 60 s (a run beside a training job was killed at 60 s with SIGTERM).
function run(script: string): { status: number | null; signal: string | null; output: string } {
  const prelude = `const addon = require(${JSON.stringify(addonBinary.file)});\n`;
  const child = spawnSync(process.execPath, ['-e', prelude + script], { encoding: 'utf8', timeout: 180_000 });
  return { status: child.status, signal: child.signal, output: child.stdout + child.stderr };
}

// A worker that starts several loss, search and encoder calls big enough to be running when it ends.
const busyWorker = (ending: string) => `
const { Worker } = require('node:worker_threads');
const body = \`
const { parentPort } = require('node:worker_threads');
const addon = require(\${JSON.stringify(${JSON.stringify(addonBinary.file)})});
const M = 2048, D = 256;
const x = new Float32Array(M * D).fill(0.5), y = new Float32Array(M * D).fill(0.25);
for (let k = 0; k < 4; k++) addon.contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' }).catch(() => {});
addon.topK(x, y, { dim: D, k: 10 }).catch(() => {});
parentPort.postMessage('busy');
${ending}
\`;
const worker = new Worker(body, { eval: true });
worker.on('message', () => TERMINATE);
worker.on('exit', (code) => setTimeout(() => console.log('parent alive after worker exit ' + code), 300));
`;

test('worker.terminate() with calls in flight: the parent process lives on', () => {
  const r = run(busyWorker('').replace('TERMINATE', 'setTimeout(() => worker.terminate(), 10)'));
  assert.is(r.signal, null, r.output);
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /parent alive after worker exit 1/);
});

test('process.exit() inside a worker with calls in flight: the parent process lives on', () => {
  const r = run(busyWorker('setTimeout(() => process.exit(3), 10);').replace('TERMINATE', 'undefined'));
  assert.is(r.signal, null, r.output);
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /parent alive after worker exit 3/);
});

test("an asynchronous call made in process.on('exit'): the process ends with its own exit code", () => {
  const r = run(`
process.on('exit', () => {
  addon.contrastiveLoss(new Float32Array(64), new Float32Array(64), { rows: 8, dim: 8, backend: 'cpu' }).catch(() => {});
  addon.topK(new Float32Array(8), new Float32Array(8), { dim: 8, k: 1 }).catch(() => {});
  console.log('called during exit');
});
process.exitCode = 4;
`);
  assert.is(r.signal, null, r.output);
  assert.is(r.status, 4, r.output);
  assert.match(r.output, /called during exit/);
});

test('a worker ended mid-call many times over: no crash, no leak of the process', () => {
  const r = run(`
const { Worker } = require('node:worker_threads');
const body = \`
const addon = require(\${JSON.stringify(${JSON.stringify(addonBinary.file)})});
const x = new Float32Array(512 * 64).fill(0.5);
for (;;) { addon.contrastiveLoss(x, x, { rows: 512, dim: 64, backend: 'cpu' }).catch(() => {}); if (Math.random() < 0.01) break; }
require('node:worker_threads').parentPort.postMessage('busy');
\`;
let ended = 0;
for (let k = 0; k < 12; k++) {
  const worker = new Worker(body, { eval: true });
  worker.on('message', () => setTimeout(() => worker.terminate(), k));
  worker.on('exit', () => { if (++ended === 12) console.log('all ended'); });
}
`);
  assert.is(r.signal, null, r.output);
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /all ended/);
});

test.run();
