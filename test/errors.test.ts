// Bad input: the right error class (TypeError for a wrong type, RangeError for a wrong size, range
// or value), a code, and a message naming the argument; thrown by the sync call, a rejection (never
// a synchronous throw) from the async one; never a crash and never NaN out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { backendInfo } from '../lib/info.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';

const test = suite('bad input');

const M = 3;
const D = 4;
const x = new Float32Array(M * D).map((_, i) => Math.sin(i + 1));
const y = new Float32Array(M * D).map((_, i) => Math.cos(i + 1));
const ok = { rows: M, dim: D };

type Args = [unknown, unknown, unknown];
interface BadCase {
  name: string;
  args: Args;
  error: typeof TypeError | typeof RangeError | typeof Error;
  message: RegExp;
  code: string;
}

const withX = (changes: (a: Float32Array) => void): Float32Array => {
  const copy = x.slice();
  changes(copy);
  return copy;
};

const cases: BadCase[] = [
  { name: 'x is an Array', args: [Array.from(x), y, ok], error: TypeError, message: /^x: expected a Float32Array.*got an Array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'x is a Float64Array', args: [Float64Array.from(x), y, ok], error: TypeError, message: /^x: .*got a Float64Array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'y is missing', args: [x, undefined, ok], error: TypeError, message: /^y: expected a Float32Array.*got undefined/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'options missing', args: [x, y, undefined], error: TypeError, message: /^options: expected an object/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'unknown option (a typo)', args: [x, y, { ...ok, logscale: 2 }], error: TypeError, message: /^options: unknown option 'logscale'/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'rows missing', args: [x, y, { dim: D }], error: TypeError, message: /^rows: expected an integer, got undefined/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'rows a string', args: [x, y, { rows: '3', dim: D }], error: TypeError, message: /^rows: expected an integer, got a string/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'rows zero', args: [x, y, { rows: 0, dim: D }], error: RangeError, message: /^rows: expected an integer from 1 .* got 0/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'rows fractional', args: [x, y, { rows: 2.5, dim: D }], error: RangeError, message: /^rows: .* got 2\.5/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'dim zero', args: [x, y, { rows: M, dim: 0 }], error: RangeError, message: /^dim: .* got 0/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'x the wrong length', args: [x.subarray(1), y, ok], error: RangeError, message: /^x: expected rows × dim = 3 × 4 = 12 elements, got 11/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'y the wrong length', args: [x, new Float32Array(5 * D), ok], error: RangeError, message: /^y: expected cols × dim = 3 × 4 = 12 elements, got 20/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'cols below rows', args: [x, y.subarray(0, 2 * D), { ...ok, cols: 2 }], error: RangeError, message: /^cols: expected at least rows = 3/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'logScale NaN', args: [x, y, { ...ok, logScale: NaN }], error: RangeError, message: /^logScale: expected a finite number/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'logScale Infinity', args: [x, y, { ...ok, logScale: Infinity }], error: RangeError, message: /^logScale: /, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'logScale above ln(1e4)', args: [x, y, { ...ok, logScale: 20 }], error: RangeError, message: /^logScale: .*got 20/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'logScale a string', args: [x, y, { ...ok, logScale: '2' }], error: TypeError, message: /^logScale: expected a number, got a string/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'symmetric a string', args: [x, y, { ...ok, symmetric: 'yes' }], error: TypeError, message: /^symmetric: expected a boolean/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'targets a plain array', args: [x, y, { ...ok, targets: [0, 1, 2] }], error: TypeError, message: /^targets: expected a Int32Array, got an Array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'targets too short', args: [x, y, { ...ok, targets: new Int32Array(2) }], error: RangeError, message: /^targets: expected rows = 3 elements, got 2/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'target out of range', args: [x, y, { ...ok, targets: Int32Array.of(0, 3, 1) }], error: RangeError, message: /^targets\[1\]: expected a column index in \[0, 3\), got 3/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'negative target', args: [x, y, { ...ok, targets: Int32Array.of(0, 1, -1) }], error: RangeError, message: /^targets\[2\]: .*got -1/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'groups a plain array', args: [x, y, { ...ok, groups: [0, 1, 2] }], error: TypeError, message: /^groups: expected an Int32Array \(a group per pair\) or \{ rows: Int32Array, cols: Int32Array \}, got an Array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'groups too short', args: [x, y, { ...ok, groups: new Int32Array(2) }], error: RangeError, message: /^groups: expected rows, one group per pair = 3 elements, got 2/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'groups per pair with extra columns', args: [x, new Float32Array(5 * D), { ...ok, cols: 5, groups: new Int32Array(3) }], error: RangeError, message: /^groups: one Int32Array \(a group per pair\) needs cols = rows; .*give \{ rows: Int32Array\(rows\), cols: Int32Array\(cols\) \}/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'groups.cols missing', args: [x, y, { ...ok, groups: { rows: new Int32Array(3) } }], error: TypeError, message: /^groups: expected both groups.rows and groups.cols/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'groups.cols too long', args: [x, y, { ...ok, groups: { rows: new Int32Array(3), cols: new Int32Array(4) } }], error: RangeError, message: /^groups.cols: expected cols = 3 elements, got 4/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'groups with an unknown key', args: [x, y, { ...ok, groups: { rows: new Int32Array(3), cols: new Int32Array(3), colums: 1 } }], error: TypeError, message: /^groups: unknown option 'colums'/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'duplicate targets', args: [x, y, { ...ok, targets: Int32Array.of(2, 0, 2) }], error: RangeError, message: /^targets\[2\]: column 2 is already the target of row 0/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'device unknown', args: [x, y, { ...ok, device: 'gpu' }], error: RangeError, message: /^device: expected one of 'cpu', 'cuda', 'auto', got 'gpu'/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'backend unknown', args: [x, y, { ...ok, backend: 'gpu' }], error: RangeError, message: /^backend: expected one of 'cpu', 'cuda', 'auto', got 'gpu'/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'backend and its old name device both', args: [x, y, { ...ok, backend: 'cpu', device: 'cpu' }], error: RangeError, message: /^device: the old name of 'backend'; give only one of them/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'device a number', args: [x, y, { ...ok, device: 0 }], error: TypeError, message: /^device: /, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'threads zero', args: [x, y, { ...ok, threads: 0 }], error: RangeError, message: /^threads: expected an integer from 1 to 1024, got 0/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'gpu negative', args: [x, y, { ...ok, gpu: -1 }], error: RangeError, message: /^gpu: expected an integer from 0 to 1023, got -1/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'gpu a string', args: [x, y, { ...ok, gpu: '0' }], error: TypeError, message: /^gpu: expected an integer, got a string/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'gpuSchedule unknown', args: [x, y, { ...ok, gpuSchedule: 'fast' }], error: RangeError, message: /^gpuSchedule: expected one of 'tiles', 'panels', got 'fast'/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'algorithm unknown', args: [x, y, { ...ok, algorithm: 'fast' }], error: RangeError, message: /^algorithm: /, code: 'ERR_OUT_OF_RANGE' },
  { name: 'NaN in x', args: [withX((a) => (a[1 * D + 2] = NaN)), y, ok], error: RangeError, message: /^x: expected finite values, got NaN at row 1, column 2/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'Infinity in y', args: [x, Float32Array.from(y, (v, i) => (i === 2 * D ? -Infinity : v)), ok], error: RangeError, message: /^y: expected finite values, got -Infinity at row 2, column 0/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka an array', args: [x, y, { ...ok, matryoshka: [2, 4] }], error: TypeError, message: /^matryoshka: expected \{ dims: number\[\], weights\?: number\[\] \}, got an Array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'matryoshka without dims', args: [x, y, { ...ok, matryoshka: {} }], error: TypeError, message: /^matryoshka\.dims: expected an array/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'matryoshka.dims with a string', args: [x, y, { ...ok, matryoshka: { dims: [2, '4'] } }], error: TypeError, message: /^matryoshka\.dims\[1\]: expected a number, got a string/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'matryoshka.dims empty', args: [x, y, { ...ok, matryoshka: { dims: [] } }], error: RangeError, message: /^matryoshka\.dims: expected 1 to 64 prefix lengths, got 0/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'matryoshka.dims not increasing', args: [x, y, { ...ok, matryoshka: { dims: [3, 2, 4] } }], error: RangeError, message: /^matryoshka\.dims\[1\]: expected dims strictly increasing, got 2 after 3/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka.dims repeated', args: [x, y, { ...ok, matryoshka: { dims: [2, 2] } }], error: RangeError, message: /^matryoshka\.dims\[1\]: expected dims strictly increasing/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka.dims above dim', args: [x, y, { ...ok, matryoshka: { dims: [2, 5] } }], error: RangeError, message: /^matryoshka\.dims\[1\]: expected a prefix length in \[1, dim = 4\], got 5/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka.dims 0', args: [x, y, { ...ok, matryoshka: { dims: [0, 4] } }], error: RangeError, message: /^matryoshka\.dims\[0\]: expected a prefix length in \[1, dim = 4\], got 0/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka.dims fractional', args: [x, y, { ...ok, matryoshka: { dims: [1.5, 4] } }], error: RangeError, message: /^matryoshka\.dims\[0\]: expected an integer/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'matryoshka.weights of another length', args: [x, y, { ...ok, matryoshka: { dims: [2, 4], weights: [1] } }], error: RangeError, message: /^matryoshka\.weights: expected one weight per dim \(2\), got 1/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'matryoshka.weights 0', args: [x, y, { ...ok, matryoshka: { dims: [2, 4], weights: [1, 0] } }], error: RangeError, message: /^matryoshka\.weights\[1\]: expected a finite number > 0/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka.weights NaN', args: [x, y, { ...ok, matryoshka: { dims: [2, 4], weights: [NaN, 1] } }], error: RangeError, message: /^matryoshka\.weights\[0\]: expected a finite number > 0/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'matryoshka unknown key', args: [x, y, { ...ok, matryoshka: { dims: [2, 4], weight: [1, 1] } }], error: TypeError, message: /^matryoshka: unknown option 'weight'/, code: 'ERR_INVALID_ARG_TYPE' },
  { name: 'matryoshka with gradientFilter', args: [x, y, { ...ok, matryoshka: { dims: [2, 4] }, gradientFilter: 0.1 }], error: RangeError, message: /^gradientFilter: not available with matryoshka/, code: 'ERR_INVALID_ARG_VALUE' },
  { name: 'positives an unknown value', args: [x, y, { ...ok, positives: 'all' }], error: RangeError, message: /^positives: expected one of 'target', 'groups'/, code: 'ERR_OUT_OF_RANGE' },
  { name: 'positives from groups without groups', args: [x, y, { ...ok, positives: 'groups' }], error: RangeError, message: /^positives: 'groups' takes the positives from the groups; give groups/, code: 'ERR_INVALID_ARG_VALUE' },
];

function check(error: unknown, c: BadCase) {
  assert.instance(error, c.error, `${c.name}: wrong class (${String(error)})`);
  assert.match((error as Error).message, c.message, `${c.name}: message`);
  assert.is((error as { code?: string }).code, c.code, `${c.name}: code`);
}

for (const algorithm of ['fused', 'naive'] as const) {
  for (const c of cases) {
    test(`${c.name} (${algorithm}, sync): throws`, () => {
      const options = c.args[2] && typeof c.args[2] === 'object' ? { algorithm, ...(c.args[2] as object) } : c.args[2];
      try {
        contrastiveLossSync(c.args[0] as Float32Array, c.args[1] as Float32Array, options as never);
      } catch (error) {
        check(error, c);
        return;
      }
      assert.unreachable(`${c.name}: no error`);
    });
  }
}

for (const c of cases) {
  test(`${c.name} (async): rejects`, async () => {
    let promise: Promise<unknown>;
    try {
      promise = contrastiveLoss(c.args[0] as Float32Array, c.args[1] as Float32Array, c.args[2] as never);
    } catch (error) {
      assert.unreachable(`${c.name}: threw synchronously instead of rejecting: ${String(error)}`);
      return;
    }
    try {
      await promise;
    } catch (error) {
      check(error, c);
      return;
    }
    assert.unreachable(`${c.name}: no error`);
  });
}

const cuda = backendInfo().cuda;
if (cuda.available) {
  test.skip("backend 'cuda' without a usable GPU (skipped: this machine has one)", () => {});
} else {
  test(`backend 'cuda' without a usable GPU: ${cuda.code}, saying why, not a crash`, async () => {
    try {
      await contrastiveLoss(x, y, { ...ok, backend: 'cuda' });
      assert.unreachable('no error');
    } catch (error) {
      assert.instance(error, Error);
      assert.ok(['ERR_CUDA_NOT_BUILT', 'ERR_CUDA_NO_DEVICE'].includes((error as { code: string }).code));
      assert.is((error as { code?: string }).code, cuda.code);
      assert.match((error as Error).message, /^backend 'cuda': .+/);
    }
  });
  test("device 'auto' without a usable GPU runs on the CPU", async () => {
    const r = await contrastiveLoss(x, y, { ...ok, backend: 'auto' });
    assert.is(r.device, 'cpu');
  });
}

test("a GPU-only precision on device 'cpu' is a RangeError", () => {
  for (const precision of ['tf32', 'fp16'] as const)
    assert.throws(
      () => contrastiveLossSync(x, y, { ...ok, backend: 'cpu', precision }),
      (e: Error) => e instanceof RangeError && /^precision: '(tf32|fp16)' is for the GPU/.test(e.message),
    );
});

test('a row of zeros is valid (u = 0) and gives finite results', () => {
  const zeros = x.slice();
  zeros.fill(0, 0, D);
  const r = contrastiveLossSync(zeros, y, ok);
  assert.ok(Number.isFinite(r.loss) && r.gradX.every(Number.isFinite) && r.gradY.every(Number.isFinite));
});

test.run();
