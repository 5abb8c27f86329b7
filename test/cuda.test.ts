// What only a GPU can show: the emulated (sm_75) products against the tensor cores, DeviceTensors,
// where the loss runs, input checks on the device, and shapes with many tiles and replicas. On a
// machine without a usable GPU every case is reported as skipped, with the reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { toDevice, isDeviceTensor } from '../lib/device-tensor.js';
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { DeviceTensor } from '../lib/types.js';
import { freshSeed, gaussianMatrix } from '../bench/random.js';
import { referenceContrastiveLoss } from '../lib/reference.js';
import { FP32_TOLERANCE, LOW_PRECISION_TOLERANCE } from './backends.js';
import { assertMatchesReference } from './check.js';

const test = suite('cuda');
const cuda = backendInfo().cuda;
const gpuTest = (name: string, body: () => void | Promise<void>) =>
  cuda.available ? test(name, body) : test.skip(`${name} (skipped: no GPU: ${cuda.reason})`, () => {});

gpuTest('the emulated sm_75 products equal the tensor-core ones', () => {
  const report = addon.cudaSelfTest();
  console.log(`      ${report}`);
  assert.match(report, /bf16 0, fp16 0, tf32 0/);
});

gpuTest("device 'auto' runs on the GPU", async () => {
  const x = gaussianMatrix(8, 5, 1);
  const r = await contrastiveLoss(x, x, { rows: 8, dim: 5 });
  assert.is(r.device, 'cuda');
});

gpuTest('DeviceTensor: fp32 round trip is exact, bf16 rounds to 8 bits of mantissa', async () => {
  const data = gaussianMatrix(33, 17, freshSeed());
  const exact = toDevice(data, { rows: 33, cols: 17 });
  assert.ok(isDeviceTensor(exact));
  assert.is(exact.gpu, 0);
  assert.is(exact.device, 0); // the old name of gpu
  assert.equal(await exact.toFloat32Array(), data);
  assert.equal(exact.toFloat32ArraySync(), data);
  const rounded = toDevice(data, { rows: 33, cols: 17, dtype: 'bfloat16' });
  assert.is(rounded.dtype, 'bfloat16');
  const back = await rounded.toFloat32Array();
  for (let i = 0; i < data.length; i++) assert.ok(Math.abs(back[i]! - data[i]!) <= Math.abs(data[i]!) * 2 ** -8);
  exact.dispose();
  rounded.dispose();
  assert.ok(exact.disposed);
  const afterDispose = await exact.toFloat32Array().then(
    () => 'resolved',
    (e: Error & { code?: string }) => e.code,
  );
  assert.is(afterDispose, 'ERR_TENSOR_DISPOSED');
});

gpuTest('DeviceTensor: dispose() refuses while a loss uses it; gradients come back as DeviceTensors', async () => {
  const M = 300;
  const D = 64;
  const x = toDevice(gaussianMatrix(M, D, 5), { rows: M, cols: D });
  const y = toDevice(gaussianMatrix(M, D, 6), { rows: M, cols: D });
  const pending = contrastiveLoss(x, y, { rows: M, dim: D });
  assert.throws(() => x.dispose(), (e: Error & { code?: string }) => e.code === 'ERR_TENSOR_IN_USE');
  const r = await pending;
  assert.ok(isDeviceTensor(r.gradX) && isDeviceTensor(r.gradY));
  const gradX = r.gradX as DeviceTensor;
  assert.is(gradX.rows, M);
  assert.is(gradX.cols, D);
  assert.is(gradX.dtype, 'float32');
  x.dispose();
  y.dispose();
  gradX.dispose();
  (r.gradY as DeviceTensor).dispose();
});

gpuTest('gpu: an index past the GPUs is a RangeError; gpu 0 runs there', async () => {
  const x = gaussianMatrix(8, 5, 1);
  const beyond = cuda.devices.length;
  assert.throws(() => addon.contrastiveLossSync(x, x, { rows: 8, dim: 5, backend: 'cuda', gpu: beyond }), (e: Error) => e instanceof RangeError && /^gpu: expected a GPU index below/.test(e.message));
  assert.is((await contrastiveLoss(x, x, { rows: 8, dim: 5, backend: 'cuda', gpu: 0 })).backend, 'cuda');
});

gpuTest("groups on the GPU: the panel schedule masks; the tile schedule and fp32 refuse; 'auto' runs them on the CPU", async () => {
  const x = gaussianMatrix(8, 5, 1);
  const groups = new Int32Array([0, 0, 1, 1, 2, -1, 2, 3]);
  const refused = /^groups: the CUDA backend masks groups only in the experimental panel schedule/;
  for (const options of [{ precision: 'bf16' as const }, { precision: 'fp32' as const, gpuSchedule: 'panels' as const }])
    assert.throws(() => addon.contrastiveLossSync(x, x, { rows: 8, dim: 5, backend: 'cuda', groups, ...options }), (e: Error) => e instanceof RangeError && refused.test(e.message));
  assert.is((await contrastiveLoss(x, x, { rows: 8, dim: 5, groups })).backend, 'cpu');
  const masked = await contrastiveLoss(x, x, { rows: 8, dim: 5, groups, backend: 'cuda', precision: 'bf16', gpuSchedule: 'panels' });
  assert.is(masked.backend, 'cuda');
  assertMatchesReference(masked, referenceContrastiveLoss(x, x, { rows: 8, dim: 5, groups, rounding: 'bfloat16' }), 'masked on the GPU', LOW_PRECISION_TOLERANCE);
});

gpuTest('a DeviceTensor of the wrong shape is a RangeError naming the argument', () => {
  const t = toDevice(new Float32Array(12), { rows: 3, cols: 4 });
  assert.throws(() => addon.contrastiveLossSync(t, t, { rows: 4, dim: 3 }), (e: Error) => e instanceof RangeError && /^x: expected a DeviceTensor of rows × dim = 4 × 3, got 3 × 4/.test(e.message));
  t.dispose();
});

gpuTest('NaN in a device input is found on the GPU and reported with its position', async () => {
  const data = gaussianMatrix(20, 9, 3);
  data[7 * 9 + 4] = NaN;
  const t = toDevice(data, { rows: 20, cols: 9 });
  try {
    await contrastiveLoss(t, t, { rows: 20, dim: 9 });
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match((e as Error).message, /^x: expected finite values, got NaN at row 7, column 4/);
  } finally {
    t.dispose();
  }
});

// Many tiles in both directions, hard negatives, replicas: M and N not multiples of the tile.
for (const precision of ['fp32', 'bf16'] as const) {
  gpuTest(`M=1000, N=1300, D=200 with shuffled targets, ${precision}`, async () => {
    const seed = freshSeed();
    const M = 1000;
    const N = 1300;
    const D = 200;
    const x = gaussianMatrix(M, D, seed);
    const y = gaussianMatrix(N, D, seed + 1);
    const targets = Int32Array.from({ length: M }, (_, i) => (i * 7 + 3) % N);
    const options = { rows: M, cols: N, dim: D, targets, logScale: 3 };
    const want = referenceContrastiveLoss(x, y, options);
    const got = await contrastiveLoss(x, y, { ...options, backend: 'cuda', precision });
    assertMatchesReference(got, want, `seed ${seed}`, precision === 'fp32' ? FP32_TOLERANCE : LOW_PRECISION_TOLERANCE);
  });
}

test.run();
