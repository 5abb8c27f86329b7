// The bag encoder's kernels against a float64 reference and finite differences; its sparse updates
// against dense ones; save → load; and its bad input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { BagEncoder } from '../lib/encoder/bag.js';
import { Encoder } from '../lib/encoder/registry.js';
import { tokenize } from '../lib/encoder/tokenizer.js';
import { addon } from '../lib/native.js';
import { GradientAccumulator } from '../lib/train/accumulator.js';
import { fillGaussian, generator } from '../lib/util/random.js';
import { freshSeed } from '../bench/random.js';
import { relativeError } from '../lib/reference.js';

const test = suite('bag encoder');

// The bigram bucket, as the native code computes it (splitmix64's finaliser of the pair).
function bucket(a: number, b: number, buckets: number): number {
  const mask = (1n << 64n) - 1n;
  let h = (BigInt(a >>> 0) << 32n) | BigInt(b >>> 0);
  h ^= h >> 30n;
  h = (h * 0xbf58476d1ce4e5b9n) & mask;
  h ^= h >> 27n;
  h = (h * 0x94d049bb133111ebn) & mask;
  h ^= h >> 31n;
  return Number(h % BigInt(buckets));
}

interface Model {
  V: number;
  H: number;
  E: number;
  D: number;
  tokens: Float64Array;
  bigrams: Float64Array;
  projection: Float64Array;
  pooling: 'mean' | 'sqrt';
  /** Per-token weights (idf pooling), or none: every item weighs 1. */
  weights?: Float64Array;
}

// The float64 forward: pooled = scale · (Σ token rows + Σ bigram rows), out = pooled · W.
function referenceForward(m: Model, ids: Int32Array, offsets: Int32Array): Float64Array {
  const texts = offsets.length - 1;
  const out = new Float64Array(texts * m.D);
  for (let t = 0; t < texts; t++) {
    const pooled = new Float64Array(m.E);
    const first = offsets[t]!;
    const last = offsets[t + 1]!;
    const weight = (id: number) => (m.weights ? m.weights[id]! : 1);
    let items = 0; // Σ of the items' weights: their count when unweighted
    for (let i = first; i < last; i++) {
      const w = weight(ids[i]!);
      items += w;
      for (let e = 0; e < m.E; e++) pooled[e] += w * m.tokens[ids[i]! * m.E + e]!;
      if (i + 1 < last) {
        const row = bucket(ids[i]!, ids[i + 1]!, m.H);
        const wb = (weight(ids[i]!) + weight(ids[i + 1]!)) / 2;
        items += wb;
        for (let e = 0; e < m.E; e++) pooled[e] += wb * m.bigrams[row * m.E + e]!;
      }
    }
    const scale = m.pooling === 'mean' ? 1 / items : 1 / Math.sqrt(items);
    for (let d = 0; d < m.D; d++) {
      let s = 0;
      for (let e = 0; e < m.E; e++) s += pooled[e]! * scale * m.projection[e * m.D + d]!;
      out[t * m.D + d] = s;
    }
  }
  return out;
}

function makeModel(seed: number, pooling: 'mean' | 'sqrt', weighted = false): Model {
  const V = 53;
  const H = 17;
  const E = 7;
  const D = 5;
  const random = generator(seed + 4);
  return {
    V,
    H,
    E,
    D,
    pooling,
    ...(weighted ? { weights: Float64Array.from({ length: V }, () => Math.fround(0.05 + 5 * random())) } : {}),
    tokens: Float64Array.from(fillGaussian(new Float32Array(V * E), seed)),
    bigrams: Float64Array.from(fillGaussian(new Float32Array(H * E), seed + 1)),
    projection: Float64Array.from(fillGaussian(new Float32Array(E * D), seed + 2)),
  };
}

// Texts of 1 to 9 ids; some ids repeat, within and across texts (to exercise the accumulation).
const ids = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5, 0, 2, 8, 8, 4, 1, 9, 7].map((v) => (v * 7) % 53));
const offsets = Int32Array.from([0, 1, 4, 9, 10, 17, 24, 33, 40]);

function nativeArgs(m: Model) {
  return {
    parameters: {
      tokens: Float32Array.from(m.tokens),
      bigrams: Float32Array.from(m.bigrams),
      projection: Float32Array.from(m.projection),
      ...(m.weights ? { weights: Float32Array.from(m.weights) } : {}),
    },
    shape: { vocabulary: m.V, buckets: m.H, width: m.E, dim: m.D, pooling: m.pooling },
  };
}

for (const [pooling, weighted] of [['mean', false], ['sqrt', false], ['mean', true], ['sqrt', true]] as const) {
  const kind = `${weighted ? 'weighted ' : ''}${pooling} pooling`;
  test(`forward matches the float64 reference (${kind})`, async () => {
    const m = makeModel(freshSeed(), pooling, weighted);
    const { parameters, shape } = nativeArgs(m);
    const { out } = await addon.bagForward(ids, offsets, parameters, shape);
    assert.ok(relativeError(out, referenceForward(m, ids, offsets)) < 1e-6);
  });

  test(`backward matches finite differences of Σ out·R (${kind})`, async () => {
    const seed = freshSeed();
    const m = makeModel(seed, pooling, weighted);
    const { parameters, shape } = nativeArgs(m);
    const texts = offsets.length - 1;
    const r = Float64Array.from(fillGaussian(new Float32Array(texts * m.D), seed + 3));
    const objective = () => referenceForward(m, ids, offsets).reduce((s, v, i) => s + v * r[i]!, 0);
    const { pooled } = await addon.bagForward(ids, offsets, parameters, shape);
    const g = await addon.bagBackward(ids, offsets, parameters, shape, pooled, Float32Array.from(r));
    const h = 1e-6;
    const numeric = (table: Float64Array, index: number) => {
      const keep = table[index]!;
      table[index] = keep + h;
      const up = objective();
      table[index] = keep - h;
      const down = objective();
      table[index] = keep;
      return (up - down) / (2 * h);
    };
    const dense = (rows: Int32Array, grads: Float32Array, size: number) => {
      const out = new Float64Array(size * m.E);
      rows.forEach((row, k) => {
        for (let e = 0; e < m.E; e++) out[row * m.E + e] = grads[k * m.E + e]!;
      });
      return out;
    };
    const tokenGrad = dense(g.tokenRows, g.tokenGrads, m.V);
    const bigramGrad = dense(g.bigramRows, g.bigramGrads, m.H);
    assert.ok(relativeError(tokenGrad, m.tokens.map((_, i) => numeric(m.tokens, i))) < 1e-5, `tokens, seed ${seed}`);
    assert.ok(relativeError(bigramGrad, m.bigrams.map((_, i) => numeric(m.bigrams, i))) < 1e-5, `bigrams, seed ${seed}`);
    assert.ok(relativeError(g.projection, m.projection.map((_, i) => numeric(m.projection, i))) < 1e-5, `projection, seed ${seed}`);
    // Only the rows the batch touched are returned, ascending.
    assert.equal([...g.tokenRows], [...new Set(ids)].sort((a, b) => a - b));
  });
}

test('gradients summed over micro-batches equal the whole batch', async () => {
  const m = makeModel(7, 'mean');
  const { parameters, shape } = nativeArgs(m);
  const gradOut = fillGaussian(new Float32Array((offsets.length - 1) * m.D), 8);
  const whole = await addon.bagBackward(ids, offsets, parameters, shape, (await addon.bagForward(ids, offsets, parameters, shape)).pooled, gradOut);
  const params = [
    { name: 'tokens', data: parameters.tokens, width: m.E },
    { name: 'bigrams', data: parameters.bigrams, width: m.E },
    { name: 'projection', data: parameters.projection, width: m.D },
  ];
  const accumulator = new GradientAccumulator(params);
  for (const [first, last] of [[0, 3], [3, 8]] as const) {
    const base = offsets[first]!;
    const sub = { ids: ids.subarray(base, offsets[last]!), offsets: offsets.slice(first, last + 1).map((o) => o - base) };
    const { pooled } = await addon.bagForward(sub.ids, sub.offsets, parameters, shape);
    const g = await addon.bagBackward(sub.ids, sub.offsets, parameters, shape, pooled, gradOut.subarray(first * m.D, last * m.D));
    accumulator.add([
      { name: 'tokens', rows: g.tokenRows, grads: g.tokenGrads },
      { name: 'bigrams', rows: g.bigramRows, grads: g.bigramGrads },
      { name: 'projection', rows: null, grads: g.projection },
    ]);
  }
  const [tokens, bigrams, projection] = accumulator.collect();
  assert.equal([...tokens!.rows!], [...whole.tokenRows]);
  assert.ok(relativeError(tokens!.grads, whole.tokenGrads) < 1e-6);
  assert.equal([...bigrams!.rows!], [...whole.bigramRows]);
  assert.ok(relativeError(bigrams!.grads, whole.bigramGrads) < 1e-6);
  assert.ok(relativeError(projection!.grads, whole.projection) < 1e-6);
});

test('a sparse AdamW update equals the dense update with zero rows elsewhere', () => {
  const width = 4;
  const rows = 10;
  const table = fillGaussian(new Float32Array(rows * width), 11);
  const dense = table.slice();
  const touched = Int32Array.of(1, 4, 7);
  const grads = fillGaussian(new Float32Array(touched.length * width), 12);
  const denseGrads = new Float32Array(rows * width);
  touched.forEach((r, k) => denseGrads.set(grads.subarray(k * width, (k + 1) * width), r * width));
  const options = { learningRate: 0.01, step: 1, weightDecay: 0 };
  addon.adamwRows(table, new Float32Array(table.length), new Float32Array(table.length), width, touched, grads, options);
  addon.adamwRows(dense, new Float32Array(dense.length), new Float32Array(dense.length), width, null, denseGrads, options);
  assert.equal(table, dense);
});

test('save → load gives identical embeddings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infonce-encoder-'));
  try {
    const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024, seed: freshSeed() });
    const texts = ['the first text', 'function add(a, b) { return a + b; }', 'ünïcödé ✓ text'];
    const before = await encoder.embed(texts);
    encoder.save(dir);
    const loaded = await Encoder.load(dir);
    assert.equal(await loaded.embed(texts), before);
    // Normalised rows.
    for (let i = 0; i < texts.length; i++) {
      let n = 0;
      for (let d = 0; d < 8; d++) n += before[i * 8 + d]! ** 2;
      assert.ok(Math.abs(n - 1) < 1e-5);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("idf pooling: rare tokens weigh more than common ones, the side markers the mean; saved and loaded with the model", async () => {
  const corpus = ['the cat sat', 'the dog ran', 'the cat ran', 'a zebra slept', 'the cat sat'];
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024, pooling: 'idf', corpus, seed: freshSeed() });
  const w = encoder.weights!;
  // The id of a text's last token, as it stands after other words (" cat", not "cat").
  const lastToken = (text: string) => tokenize([text], 'document', 8).ids.at(-1)!;
  // 4 distinct texts (the repeat counts once): "the" in 3, "cat" in 2, "zebra" in 1, "unicorn" in none.
  const idf = (n: number) => Math.log(1 + (4 - n + 0.5) / (n + 0.5));
  for (const [text, n] of [['the', 3], ['the cat', 2], ['a zebra', 1], ['the unicorn', 0]] as const) {
    const id = lastToken(text);
    assert.ok(Math.abs(w[id]! - idf(n)) < 1e-6, `${text}: ${w[id]} vs ${idf(n)}`);
  }
  const markers = tokenize(['x'], 'query', 4).ids[0]!;
  assert.ok(w[markers]! > idf(3) && w[markers]! < idf(1), `the query marker weighs ${w[markers]}`);
  const dir = mkdtempSync(join(tmpdir(), 'infonce-encoder-'));
  try {
    const texts = ['the cat', 'a zebra ran far', 'the'];
    const before = await encoder.embed(texts);
    encoder.save(dir);
    const loaded = (await Encoder.load(dir)) as BagEncoder;
    assert.equal(loaded.weights, w);
    assert.equal(await loaded.embed(texts), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const refused = await BagEncoder.create({ init: 'random', pooling: 'idf' }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.instance(refused, RangeError);
  assert.match(refused!.message, /^corpus: pooling 'idf' needs the texts/);
});

test('queries and documents are marked differently', async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 16, dim: 8, buckets: 1024 });
  const asQuery = await encoder.embed(['same text'], { side: 'query' });
  const asDocument = await encoder.embed(['same text'], { side: 'document' });
  assert.not.equal(asQuery, asDocument);
});

test('bad input: empty texts, out-of-range ids, a missing model folder (huge texts are truncated)', async () => {
  assert.throws(() => tokenize(['fine', '  '], 'query', 16), (e: Error) => e instanceof RangeError && /^texts\[1\]: expected a non-empty text/.test(e.message));
  assert.is(tokenize(['x '.repeat(1_000_001)], 'query', 16).ids.length, 16); // huge texts are truncated, not refused
  // Long texts are truncated to maxTokens (the side marker included).
  assert.is(tokenize(['word '.repeat(500)], 'document', 16).ids.length, 16);
  const m = makeModel(1, 'mean');
  const { parameters, shape } = nativeArgs(m);
  assert.throws(() => addon.bagForward(Int32Array.of(1, 99), Int32Array.of(0, 2), parameters, shape), (e: Error) => e instanceof RangeError && /^ids\[1\]: expected a token id in \[0, 53\), got 99/.test(e.message));
  assert.throws(() => addon.bagForward(Int32Array.of(1, 2), Int32Array.of(0, 0, 2), parameters, shape), (e: Error) => e instanceof RangeError && /^offsets\[1\]: /.test(e.message));
  const zeroWeight = new Float32Array(53).fill(1);
  zeroWeight[7] = 0;
  assert.throws(() => addon.bagForward(Int32Array.of(1, 2), Int32Array.of(0, 2), { ...parameters, weights: zeroWeight }, shape), (e: Error) => e instanceof RangeError && /^parameters\.weights\[7\]: expected a positive finite weight, got 0/.test(e.message));
  assert.throws(() => addon.bagForward(Int32Array.of(1, 2), Int32Array.of(0, 2), { ...parameters, weights: new Float32Array(52).fill(1) }, shape), (e: Error) => e instanceof RangeError && /^parameters\.weights: /.test(e.message));
  const missing = await Encoder.load('/nonexistent/model').then(
    () => undefined,
    (e: Error) => e,
  );
  assert.instance(missing, RangeError);
  assert.match(missing!.message, /^model: no config.json in \/nonexistent\/model/);
});

test.run();
