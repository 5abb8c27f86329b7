// The same inputs and thread count give bit-identical results, call after call: the schedule is
// static and every sum has a fixed order. Different thread counts agree within fp32 tolerance.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed, gaussianMatrix } from '../bench/random.js';
import { relativeError } from '../lib/reference.js';
import { lossBackends } from './backends.js';

const test = suite('determinism');

const seed = freshSeed();
const M = 301;
const N = 333;
const D = 97;
const x = gaussianMatrix(M, D, seed);
const y = gaussianMatrix(N, D, seed + 1);

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

for (const backend of lossBackends()) {
  if (backend.unavailable) {
    test.skip(`${backend.name} (skipped: ${backend.unavailable})`, () => {});
    continue;
  }
  for (const threads of [1, 2, 3]) {
    test(`${backend.name}, ${threads} thread(s): bit-identical over repeated calls`, async () => {
      const options = { rows: M, cols: N, dim: D, threads };
      const first = await backend.run(x, y, options);
      for (let repeat = 0; repeat < 3; repeat++) {
        const again = await backend.run(x, y, options);
        assert.is(again.loss, first.loss, `loss changed, seed ${seed}`);
        assert.is(again.gradLogScale, first.gradLogScale, `gradLogScale changed, seed ${seed}`);
        assert.ok(sameBits(again.gradX, first.gradX) && sameBits(again.gradY, first.gradY), `gradients changed, seed ${seed}`);
      }
    });
  }
  test(`${backend.name}: 1 and 3 threads agree within fp32 tolerance`, async () => {
    const one = await backend.run(x, y, { rows: M, cols: N, dim: D, threads: 1 });
    const three = await backend.run(x, y, { rows: M, cols: N, dim: D, threads: 3 });
    assert.ok(Math.abs(one.loss - three.loss) < 1e-5 * Math.abs(one.loss));
    assert.ok(relativeError(three.gradX, one.gradX) < 1e-5 && relativeError(three.gradY, one.gradY) < 1e-5);
  });
}

test.run();
