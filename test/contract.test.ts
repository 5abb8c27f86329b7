// The names and limits of the loss come from one home (native/include/infonce.h) and reach
// TypeScript through the addon: the types, the CLI and the reference must agree with it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { DEFAULT_LOG_SCALE, contrastiveLossSync } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { Precision } from '../lib/types.js';

const test = suite('one home for each parameter');

test('the precisions the addon takes are the ones the Precision type lists', () => {
  const typed: Record<Precision, true> = { fp32: true, tf32: true, bf16: true, fp16: true };
  assert.equal([...addon.precisions].sort(), Object.keys(typed).sort());
});

test('θ: the default is ln(1/0.07), the largest ln(10⁴), and a value above it is refused naming it', () => {
  assert.ok(Math.abs(DEFAULT_LOG_SCALE - Math.log(1 / 0.07)) < 1e-15);
  assert.ok(Math.abs(addon.maxLogScale - Math.log(1e4)) < 1e-15);
  const x = new Float32Array([1, 0, 0, 1]);
  assert.throws(() => contrastiveLossSync(x, x, { rows: 2, dim: 2, logScale: addon.maxLogScale + 1e-9 }), /^logScale: expected a finite number <= ln\(1e4\)/);
  assert.ok(Number.isFinite(contrastiveLossSync(x, x, { rows: 2, dim: 2, logScale: addon.maxLogScale }).loss));
});

test("backend is the loss option's name; device, its old name, still works and the result carries both", () => {
  const x = new Float32Array([1, 0, 0, 1]);
  const viaBackend = contrastiveLossSync(x, x, { rows: 2, dim: 2, backend: 'cpu' });
  const viaDevice = contrastiveLossSync(x, x, { rows: 2, dim: 2, device: 'cpu' });
  assert.is(viaBackend.backend, 'cpu');
  assert.is(viaBackend.device, 'cpu');
  assert.is(viaBackend.loss, viaDevice.loss);
});

test('infonce/internal reaches the native test hooks the public entry does not export', async () => {
  const internal = await import('../lib/internal.js');
  const index = (await import('../lib/index.js')) as Record<string, unknown>;
  for (const hook of ['cudaLaunchPlan', 'cudaPanelPlan', 'cudaPanelEmulation', 'cudaSelfTest'] as const) {
    assert.type(internal[hook], 'function');
    assert.is(index[hook], undefined, `${hook} leaks into the public entry`);
  }
  assert.is(internal.cudaPanelPlan({ rows: 300, cols: 300, dim: 8, memoryBudget: 1 << 30 }).panels, 1);
});

test.run();
