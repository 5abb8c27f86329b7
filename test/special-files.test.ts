// Files that are not files: a FIFO would block a read forever and a link to /dev/zero would be read
// until memory runs out. Every reader of a user's files opens only regular files (non-blocking, the
// kind checked on the open descriptor), bounds what it reads whole, and a folder walk skips and names
// what is not a regular file. Each case must end (the test would hang before).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { readCorpus, readLines } from '../lib/cli/io.js';
import { BagEncoder } from '../lib/encoder/bag.js';
import { Encoder } from '../lib/encoder/registry.js';
import { readBeir, readLabelled } from '../lib/eval/formats.js';
import { NotRegularFile, readTextFile } from '../lib/io/read-file.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { readCorpusDocuments } from '../lib/pairs/corpus-files.js';
import { readPairs } from '../lib/train/pairs-file.js';
import { rejection, thrown } from './caught.js';

const test = suite('special files');
const work = mkdtempSync(join(tmpdir(), 'infonce-special-'));

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

test('a FIFO and a /dev/zero link given as a file: refused at once, naming the kind', async () => {
  const pipe = fifo(join(work, 'pipe.txt'));
  const zero = join(work, 'zero.txt');
  symlinkSync('/dev/zero', zero);
  for (const path of [pipe, zero]) {
    const error = thrown(() => readTextFile(path));
    assert.instance(error, NotRegularFile);
    assert.is(error!.code, 'ERR_NOT_REGULAR_FILE');
    assert.match(error!.message, path === pipe ? /a FIFO/ : /a character device/);
    assert.instance(await rejection(readCorpusDocuments(path)), NotRegularFile);
    assert.instance(await rejection(readCorpus(path)), NotRegularFile);
    assert.instance(await rejection(readLabelled(path)), NotRegularFile);
    assert.instance(await rejection(readPairs(path)), NotRegularFile);
    assert.instance(await rejection(readLines(path)), NotRegularFile);
  }
});

test('a corpus folder with a FIFO and a /dev/zero link among its files: they are skipped and named', async () => {
  const dir = join(work, 'corpus');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.txt'), 'The first document.');
  fifo(join(dir, 'b.txt'));
  symlinkSync('/dev/zero', join(dir, 'c.md'));
  writeFileSync(join(dir, 'd.md'), 'The second document.');
  const skipped: string[] = [];
  const docs = await readCorpusDocuments(dir, (path, kind) => skipped.push(`${path}: ${kind}`));
  assert.equal(docs.map((d) => d.id), ['a.txt', 'd.md']);
  assert.equal(skipped, [`${join(dir, 'b.txt')}: a FIFO`, `${join(dir, 'c.md')}: a character device`]);
});

test('a file beyond the limit of what is read whole: ERR_INVALID_FILE with its size and the limit', () => {
  const big = join(work, 'big.txt');
  writeFileSync(big, 'x'.repeat(5000));
  const error = thrown(() => readTextFile(big, 4096));
  assert.is(error!.code, 'ERR_INVALID_FILE');
  assert.match(error!.message, /holds 5000 bytes; files read whole may hold at most 4096/);
  assert.is(readTextFile(big, 5000).length, 5000);
});

test('a model folder whose config.json is a FIFO, or whose model.safetensors is missing, a folder or a FIFO: ERR_INVALID_FILE', async () => {
  const model = (name: string) => {
    const dir = join(work, name);
    return BagEncoder.create({ init: 'random', width: 4, dim: 4, buckets: 8 }).then((e) => (e.save(dir), dir));
  };
  const config = await model('fifo-config');
  execFileSync('rm', [join(config, 'config.json')]);
  fifo(join(config, 'config.json'));
  const configError = await rejection(Encoder.load(config));
  assert.is(configError!.code, 'ERR_INVALID_FILE');
  assert.match(configError!.message, /config\.json: a FIFO, not a regular file/);
  for (const [name, replace] of [
    ['missing', () => undefined],
    ['folder', (f: string) => mkdirSync(f)],
    ['fifo', (f: string) => fifo(f)],
  ] as const) {
    const dir = await model(`weights-${name}`);
    const file = join(dir, 'model.safetensors');
    execFileSync('rm', [file]);
    replace(file);
    const error = await rejection(Encoder.load(dir));
    assert.is(error!.code, 'ERR_INVALID_FILE', `${name}: ${error?.message}`);
    assert.match(error!.message, /model\.safetensors: (missing|a folder, not a safetensors file|a FIFO, not a safetensors file)/);
    assert.is(thrown(() => readSafetensors(file))!.code, 'ERR_INVALID_FILE');
  }
});

test('a BEIR folder whose files carry a byte-order mark reads as one without; an empty corpus is refused', async () => {
  const dir = join(work, 'beir-bom');
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  writeFileSync(join(dir, 'corpus.jsonl'), '\uFEFF{"_id": "d1", "text": "apples"}\n{"_id": "d2", "text": "rivers"}\n');
  writeFileSync(join(dir, 'queries.jsonl'), '\uFEFF{"_id": "q1", "text": "fruit"}\n');
  writeFileSync(join(dir, 'qrels', 'test.tsv'), '\uFEFFquery-id\tcorpus-id\tscore\nq1\td1\t1\n');
  const task = await readBeir(dir);
  assert.equal(task.queries.map((q) => q.id), ['q1']);
  const ids: string[] = [];
  for await (const chunk of task.corpus()) ids.push(...chunk.map((d) => d.id));
  assert.equal(ids, ['d1', 'd2']);
  writeFileSync(join(dir, 'corpus.jsonl'), '\n');
  const empty = await readBeir(dir);
  const error = await rejection((async () => {
    for await (const chunk of empty.corpus()) void chunk;
  })());
  assert.match(error!.message, /corpus\.jsonl: no documents/);
});

test.run();
