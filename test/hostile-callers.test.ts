// A caller who changes, detaches or shrinks an input while an asynchronous call runs on a worker
// thread gets the result of the input as it was when the call was made: never a crash (these cases
// were heap-use-after-free and out-of-bounds writes under ASan before the inputs were copied).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { BagEncoder } from '../lib/encoder/bag.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import { allocateFloat32 } from '../lib/memory.js';
import { addon } from '../lib/native.js';
import { search } from '../lib/search.js';
import { freshSeed, gaussianMatrix } from '../bench/random.js';

const test = suite('hostile callers');

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// Moves the buffer's memory away (as postMessage with a transfer list does) and lets it be freed.
function detach(array: Float32Array | Int32Array): void {
  structuredClone(array.buffer, { transfer: [array.buffer as ArrayBuffer] });
  collectGarbage();
}

// Big enough that the call is still running when the caller strikes.
const M = 1024;
const D = 256;

test('x and y detached and freed mid-call: the result is that of the inputs as passed', async () => {
  const seed = freshSeed();
  const x = gaussianMatrix(M, D, seed);
  const y = gaussianMatrix(M, D, seed + 1);
  const expected = contrastiveLossSync(x.slice(), y.slice(), { rows: M, dim: D, backend: 'cpu' });
  const pending = contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  detach(x);
  detach(y);
  assert.is(x.length, 0, 'the test did not detach x');
  const r = await pending;
  assert.is(r.loss, expected.loss, `seed ${seed}`);
  assert.equal(r.gradX, expected.gradX);
});

test('a resizable buffer shrunk to 0 mid-call', async () => {
  const seed = freshSeed();
  const values = gaussianMatrix(M, D, seed);
  // Node 20 has resizable ArrayBuffers; the TypeScript lib of this project (ES2022) does not know them.
  const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & {
    resize(length: number): void;
  };
  const buffer = new Resizable(values.byteLength, { maxByteLength: values.byteLength });
  const x = new Float32Array(buffer); // length-tracking: it follows the buffer's size
  x.set(values);
  const y = gaussianMatrix(M, D, seed + 1);
  const expected = contrastiveLossSync(values, y, { rows: M, dim: D, backend: 'cpu' });
  const pending = contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  buffer.resize(0);
  collectGarbage();
  assert.is((await pending).loss, expected.loss, `seed ${seed}`);
});

test('targets rewritten out of range mid-call: the checked targets are the ones used', async () => {
  const seed = freshSeed();
  const rows = 20000;
  const x = gaussianMatrix(rows, 1, seed);
  const y = gaussianMatrix(rows, 1, seed + 1);
  const targets = Int32Array.from({ length: rows }, (_, i) => rows - 1 - i);
  const expected = contrastiveLossSync(x, y, { rows, dim: 1, targets: targets.slice(), backend: 'cpu' });
  const pending = contrastiveLoss(x, y, { rows, dim: 1, targets, backend: 'cpu' });
  targets.fill(1e9);
  const r = await pending;
  assert.is(r.loss, expected.loss, `seed ${seed}`);
  assert.equal(r.gradY, expected.gradY);
});

test('groups rewritten mid-call: the groups given are the ones used', async () => {
  const seed = freshSeed();
  const rows = 3000;
  const x = gaussianMatrix(rows, 8, seed);
  const y = gaussianMatrix(rows, 8, seed + 1);
  const rowGroups = Int32Array.from({ length: rows }, (_, i) => i % 7);
  const colGroups = Int32Array.from({ length: rows }, (_, i) => i % 5);
  const expected = contrastiveLossSync(x, y, { rows, dim: 8, groups: { rows: rowGroups.slice(), cols: colGroups.slice() }, backend: 'cpu' });
  const pending = contrastiveLoss(x, y, { rows, dim: 8, groups: { rows: rowGroups, cols: colGroups }, backend: 'cpu' });
  rowGroups.fill(1);
  colGroups.fill(1);
  const r = await pending;
  assert.is(r.loss, expected.loss, `seed ${seed}`);
  assert.equal(r.gradY, expected.gradY);
});

test('search: queries and corpus detached mid-call', async () => {
  const seed = freshSeed();
  const queries = gaussianMatrix(64, 32, seed);
  const corpus = gaussianMatrix(20000, 32, seed + 1);
  const expected = await search(queries.slice(), corpus.slice(), { dim: 32, k: 5 });
  const pending = search(queries, corpus, { dim: 32, k: 5 });
  detach(queries);
  detach(corpus);
  const r = await pending;
  assert.equal(r.indices, expected.indices);
  assert.equal(r.scores, expected.scores);
});

test('search: a NaN in the corpus or the queries is a RangeError naming its place', async () => {
  const corpus = gaussianMatrix(10, 4, freshSeed());
  corpus[4 * 7 + 2] = NaN;
  const error = await search(Float32Array.of(1, 0, 0, 0), corpus, { dim: 4 }).then(() => undefined, (e: Error) => e);
  assert.instance(error, RangeError);
  assert.match(error!.message, /^corpus: expected finite values, got NaN at row 7, column 2/);
  const queryError = await search(Float32Array.of(1, Infinity), Float32Array.of(1, 0), { dim: 2 }).then(() => undefined, (e: Error) => e);
  assert.match(queryError!.message, /^queries: expected finite values, got Infinity at row 0, column 1/);
});

test('search: a result beyond 2^27 entries is a RangeError giving its size, before anything is allocated', async () => {
  // 4,096 queries × k = 2^20 over a corpus of 2^20 one-dimensional rows: 32 GiB of results once.
  const corpus = new Float32Array(2 ** 20).fill(1);
  const error = await search(new Float32Array(4096).fill(1), corpus, { dim: 1, k: 2 ** 20 }).then(() => undefined, (e: Error) => e);
  assert.instance(error, RangeError);
  assert.match(error!.message, /^k: queries × k = 4096 × 1048576 = 4294967296 results \(34359738368 bytes\) is more than one call returns \(134217728\)/);
  // At the limit it runs.
  const r = await search(new Float32Array(2).fill(1), new Float32Array(64).fill(1), { dim: 1, k: 64 });
  assert.is(r.k, 64);
});

test('search: k far beyond the corpus is clamped to it', async () => {
  const r = await search(Float32Array.of(1, 0, 0, 1), Float32Array.of(3, 4), { dim: 2, k: 2 ** 20 });
  assert.is(r.k, 1);
  assert.equal([...r.indices], [0, 0]);
});

test('encoder: batch.ids rewritten mid-forward: the checked ids are the ones used', async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024 });
  const texts = Array.from({ length: 2000 }, (_, i) => `text number ${i} about splitting arrays and reading files`);
  const batch = encoder.tokenize(texts, 'document');
  const expected = await encoder.forward({ ids: batch.ids.slice(), offsets: batch.offsets.slice() });
  const pending = encoder.forward(batch);
  batch.ids.fill(2 ** 31 - 1);
  batch.offsets.fill(0);
  assert.equal((await pending).out, expected.out);
});

// Arrays from allocateFloat32 are read in place (no copy); the call holds their memory, and a write
// during the call is refused rather than mixed into the result.
const owned = (values: Float32Array) => {
  const array = allocateFloat32(values.length);
  array.set(values);
  return array;
};

test('allocateFloat32 inputs: read in place, the same result as a copied call, bit for bit', async () => {
  const seed = freshSeed();
  const x = gaussianMatrix(M, D, seed);
  const y = gaussianMatrix(M, D, seed + 1);
  const expected = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  const both = owned(new Float32Array([...x, ...y]));
  const r = await contrastiveLoss(both.subarray(0, M * D), both.subarray(M * D), { rows: M, dim: D, backend: 'cpu' });
  assert.is(r.loss, expected.loss, `seed ${seed}`);
  assert.equal(r.gradX, expected.gradX);
  assert.equal(r.gradY, expected.gradY);
});

test('allocateFloat32 inputs detached (a BYOB read) and collected mid-call: the call read memory it held', async () => {
  const seed = freshSeed();
  const x = owned(gaussianMatrix(M, D, seed));
  const y = owned(gaussianMatrix(M, D, seed + 1));
  const expected = contrastiveLossSync(x.slice(), y.slice(), { rows: M, dim: D, backend: 'cpu' });
  const pending = contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  for (const array of [x, y]) {
    const stream = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        controller.close();
        controller.byobRequest?.respond(0);
      },
    });
    await stream.getReader({ mode: 'byob' }).read(new Uint8Array(array.buffer));
  }
  collectGarbage();
  assert.is(x.length, 0, 'not detached');
  assert.is((await pending).loss, expected.loss, `seed ${seed}`);
});

test('allocateFloat32 inputs written mid-call: the call rejects naming the input, never a mixed result', async () => {
  const seed = freshSeed();
  const x = owned(gaussianMatrix(M, D, seed));
  const y = owned(gaussianMatrix(M, D, seed + 1));
  const pending = contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  y[12345] += 1;
  const error = await pending.then(() => undefined, (e: Error & { code?: string }) => e);
  assert.instance(error, RangeError);
  assert.is(error!.code, 'ERR_INVALID_ARG_VALUE');
  assert.match(error!.message, /^y: written while the call read it/);
  assert.throws(() => allocateFloat32(0), RangeError);
  assert.throws(() => allocateFloat32('8' as never), TypeError);
});

// Sync calls: an option's getter is the one place JavaScript runs inside them. Every option is read
// once, before any input's memory is taken, so a getter that detaches, shrinks or rewrites an input
// makes a clean error or a result of the input as it then is: never a read of freed memory (ASan
// reported a heap-use-after-free in rowNorms before).
test('contrastiveLossSync: an options getter that detaches x gets a RangeError, no read of freed memory', () => {
  const x = gaussianMatrix(64, 32, freshSeed());
  const y = gaussianMatrix(64, 32, freshSeed());
  let reads = 0;
  const options = {
    rows: 64,
    dim: 32,
    backend: 'cpu' as const,
    get logScale() {
      reads++;
      detach(x);
      return 2;
    },
  };
  assert.throws(() => contrastiveLossSync(x, y, options), (e: Error) => e instanceof RangeError && /^x: expected/.test(e.message));
  assert.is(reads, 1, 'each option is read once');
});

test('contrastiveLossSync: a getter that changes its answer is read once (checked value = used value)', () => {
  const seed = freshSeed();
  const x = gaussianMatrix(16, 8, seed);
  const y = gaussianMatrix(16, 8, seed + 1);
  let reads = 0;
  const options = { rows: 16, dim: 8, backend: 'cpu' as const, get logScale() { return reads++ === 0 ? 1 : 1e9; } };
  assert.is(contrastiveLossSync(x, y, options).loss, contrastiveLossSync(x, y, { rows: 16, dim: 8, backend: 'cpu', logScale: 1 }).loss);
});

test('adamwRows: a getter that rewrites rows out of range after the check cannot, and one that detaches the table errs', () => {
  const width = 4;
  const table = new Float32Array(8 * width);
  const rows = Int32Array.of(1, 3);
  const grads = new Float32Array(2 * width).fill(1);
  const options = {
    get learningRate() {
      rows[0] = 1e9; // an out-of-bounds write if the rows had been checked before this ran
      return 1e-3;
    },
  };
  assert.throws(() => addon.adamwRows(table, new Float32Array(table.length), new Float32Array(table.length), width, rows, grads, options as never), /rows\[0\]: expected a row in \[0, 8\), got 1000000000/);
  const detaching = {
    get step() {
      detach(table);
      return 1;
    },
  };
  assert.throws(() => addon.adamwRows(table, new Float32Array(32), new Float32Array(32), width, Int32Array.of(1), new Float32Array(width), detaching as never), RangeError);
});

test('options given as a Proxy: each known option is asked for once, before any input is read', () => {
  const seed = freshSeed();
  const x = gaussianMatrix(8, 4, seed);
  const y = gaussianMatrix(8, 4, seed + 1);
  const asked: string[] = [];
  const options = new Proxy({ rows: 8, dim: 4, backend: 'cpu' } as Record<string, unknown>, {
    get(target, key) {
      asked.push(String(key));
      return target[key as string];
    },
  });
  const r = contrastiveLossSync(x, y, options as never);
  assert.ok(Number.isFinite(r.loss));
  assert.is(new Set(asked).size, asked.length, `asked twice: ${asked.join(', ')}`);
});

// The encoder's tables live in memory the addon owns; a forward in flight holds it, so nothing
// JavaScript does to the views (a BYOB read detaches any buffer it is handed, a resizable buffer in
// a table's place) reaches the memory the worker reads.
test('encoder: a BYOB stream read detaches a table mid-forward: the forward reads the table as it was', async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024 });
  assert.ok(addon.isOwnedTable(encoder.tokens) && addon.isOwnedTable(encoder.bigrams) && addon.isOwnedTable(encoder.projection));
  const texts = Array.from({ length: 3000 }, (_, i) => `text number ${i} about splitting arrays and reading files`);
  const batch = encoder.tokenize(texts, 'document');
  const expected = await encoder.forward(batch);
  const pending = encoder.forward(batch);
  for (const table of [encoder.tokens, encoder.bigrams, encoder.projection]) {
    const stream = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        controller.close();
        controller.byobRequest?.respond(0);
      },
    });
    await stream.getReader({ mode: 'byob' }).read(new Uint8Array(table.buffer, table.byteOffset, table.byteLength));
  }
  collectGarbage();
  assert.is(encoder.tokens.length, 0, 'the BYOB read did not detach the table');
  assert.equal((await pending).out, expected.out);
});

test('encoder: a table swapped for a resizable view that shrinks mid-forward: the call read a copy', async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024 });
  const texts = Array.from({ length: 3000 }, (_, i) => `a text ${i} on trees and graphs`);
  const batch = encoder.tokenize(texts, 'document');
  const expected = await encoder.forward(batch);
  const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };
  const buffer = new Resizable(encoder.tokens.byteLength, { maxByteLength: encoder.tokens.byteLength });
  const view = new Float32Array(buffer);
  view.set(encoder.tokens);
  (encoder as unknown as { tokens: Float32Array }).tokens = view;
  const pending = encoder.forward(batch);
  buffer.resize(0);
  collectGarbage();
  assert.equal((await pending).out, expected.out);
});

test("encoder: its weight tables cannot be detached under a forward (they are untransferable)", async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024 });
  const batch = encoder.tokenize(['split an array', 'read a file line by line'], 'query');
  const expected = await encoder.forward(batch);
  const pending = encoder.forward(batch);
  for (const table of [encoder.tokens, encoder.bigrams, encoder.projection]) detach(table);
  assert.ok(encoder.tokens.length > 0 && encoder.projection.length === 16 * 8, 'a table was detached');
  assert.equal((await pending).out, expected.out);
});

test.run();
