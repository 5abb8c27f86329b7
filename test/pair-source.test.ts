// A pairs file read as data-parallel training reads it (scanned once, then only the pairs a rank
// encodes, an epoch at a time) gives what the whole file read into an array gives: the count, the
// fingerprint, the groups, the pairs at any index, and the idf of a new encoder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { BagEncoder } from '../lib/encoder/bag.js';
import { arraySource, fileSource } from '../lib/train/pair-source.js';
import { pairTextChunks, readPairs, readPairsAt } from '../lib/train/pairs-file.js';
import { trainingPairs } from './training-pairs.js';

const test = suite('pair sources');
const work = mkdtempSync(join(tmpdir(), 'infonce-pair-source-'));
const pairs = trainingPairs().map((p, i) => (i % 5 === 0 ? { ...p, group: `g${i % 3}` } : p));
const file = join(work, 'pairs.jsonl');
// Blank lines and a byte-order mark, which readPairs skips: the indices are the pairs', not the lines'.
writeFileSync(file, '\uFEFF' + pairs.map((p, i) => JSON.stringify(p) + (i % 7 === 0 ? '\n\n' : '\n')).join(''));

test('a file source and the array of its pairs agree on count, fingerprint and groups', async () => {
  const fromFile = await fileSource(file);
  const fromArray = arraySource(await readPairs(file));
  assert.is(fromFile.count, pairs.length);
  assert.is(fromFile.fingerprint, fromArray.fingerprint);
  assert.equal(fromFile.groups(), fromArray.groups());
  assert.ok(fromFile.groups().grouped > 0, 'the fixture has twins and groups');
});

test('readPairsAt returns exactly the pairs asked for, by pair index; a file cut short is an error', async () => {
  const wanted = Int32Array.of(95, 0, 13, 14, 50);
  const got = await readPairsAt(file, wanted);
  assert.equal([...got.keys()].sort((a, b) => a - b), [0, 13, 14, 50, 95]);
  for (const i of wanted) assert.equal(got.get(i), pairs[i]);
  const source = await fileSource(file);
  await source.load(Int32Array.of(3, 4));
  assert.equal(source.at(4), pairs[4]);
  assert.throws(() => source.at(5), /pair 5 of .* was not loaded for this epoch/);
  const error = await readPairsAt(file, Int32Array.of(200)).then(() => undefined, (e: Error) => e);
  assert.match(error!.message, /has 96 pairs, fewer than the 201/);
});

test('idf from the file in chunks equals idf from the array of texts (each distinct text counted once)', async () => {
  const chunks: string[][] = [];
  for await (const chunk of pairTextChunks(file, 7)) chunks.push(chunk);
  assert.ok(chunks.length > 10, 'several chunks');
  const options = { init: 'random' as const, width: 8, dim: 8, buckets: 64, pooling: 'idf' as const };
  const fromArray = await BagEncoder.create({ ...options, corpus: chunks.flat() });
  const fromChunks = await BagEncoder.create({
    ...options,
    corpus: (async function* () {
      yield* chunks;
    })(),
  });
  const weights = (e: BagEncoder) => (e as unknown as { weights: Float32Array }).weights;
  assert.equal(Array.from(weights(fromChunks)), Array.from(weights(fromArray)));
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
