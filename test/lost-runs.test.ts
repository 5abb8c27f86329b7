// An interrupted or careless run loses nothing and deletes nothing it did not write: a kill between
// a checkpoint and `latest`, a torn last line in train.jsonl, --overwrite beside a user's folder, a
// resume asking for another encoder or other pairs, a flipped bit in the weights or the moments,
// a damaged run.json, temporaries a kill left behind.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { Encoder } from '../lib/encoder/registry.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { packageVersion } from '../lib/native.js';
import type { Pair } from '../lib/train/pairs-file.js';
import { train } from '../lib/train/trainer.js';
import { rejection } from './caught.js';

const test = suite('lost runs');
const work = mkdtempSync(join(tmpdir(), 'infonce-lost-runs-'));

const topics = ['apples', 'rivers', 'engines', 'violins', 'glaciers', 'comets', 'bridges', 'tulips'];
const pairs: Pair[] = topics.flatMap((topic, t) =>
  Array.from({ length: 6 }, (_, k) => ({ query: `notes on ${topic} ${k}`, positive: `${topic} ${topics[(t + k) % 8]} detail ${k}` })),
);
const base = { pairs, steps: 6, batchSize: 16, learningRate: 5e-3, encoder: { init: 'random' as const, width: 8, dim: 8, buckets: 512 }, threads: 1 };
const modelBytes = (out: string) => readFileSync(join(out, 'model', 'model.safetensors'));

// The whole run in one go: what every interrupted run below must end with, bit for bit.
let reference: Buffer;
test.before(async () => {
  const out = join(work, 'reference');
  await train({ ...base, out });
  reference = modelBytes(out);
});

// Steps 1-3 checkpointed at 3 (and, with `every` 1, at each step): the run a kill interrupted.
async function interrupted(name: string, every = 3): Promise<string> {
  const out = join(work, name);
  await train({ ...base, out, stopAfter: 3, checkpointEvery: every });
  return out;
}

test('a kill after a checkpoint is complete but before `latest` names it: the resume takes that checkpoint', async () => {
  const out = await interrupted('before-latest', 1);
  writeFileSync(join(out, 'checkpoints', 'latest'), 'step-0000002\n'); // the kill came before latest said step 3
  const messages: string[] = [];
  const { steps } = await train({ ...base, out, resume: true, log: (m) => messages.push(m) });
  assert.equal(steps.map((r) => r.step), [4, 5, 6]);
  assert.ok(modelBytes(out).equals(reference), 'not the uninterrupted run');
  const none = await interrupted('no-latest');
  rmSync(join(none, 'checkpoints', 'latest'));
  await train({ ...base, out: none, resume: true });
  assert.ok(modelBytes(none).equals(reference));
});

test('a torn last line in train.jsonl (a full disk mid-append) is dropped and said; a bad line elsewhere names the file and line', async () => {
  const out = await interrupted('torn');
  const log = join(out, 'train.jsonl');
  appendFileSync(log, '{"step": 4, "loss": 1.2');
  const messages: string[] = [];
  await train({ ...base, out, resume: true, log: (m) => messages.push(m) });
  assert.ok(messages.some((m) => /train\.jsonl: dropped a torn last line/.test(m)), messages.join('\n'));
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [1, 2, 3, 4, 5, 6]);
  assert.ok(modelBytes(out).equals(reference));

  const broken = await interrupted('bad-line');
  const lines = readFileSync(join(broken, 'train.jsonl'), 'utf8').split('\n');
  lines[1] = '{"step": 2, oops}';
  writeFileSync(join(broken, 'train.jsonl'), lines.join('\n'));
  const error = await rejection(train({ ...base, out: broken, resume: true }));
  assert.is(error!.code, 'ERR_INVALID_FILE');
  assert.match(error!.message, /train\.jsonl: line 2 is not JSON/);
});

test('--overwrite deletes only what a run wrote: a model/ folder the user put in out is kept, and the run refused', async () => {
  const out = join(work, 'users-folder');
  mkdirSync(join(out, 'model'), { recursive: true });
  writeFileSync(join(out, 'model', 'mine.txt'), 'precious');
  const error = await rejection(train({ ...base, out, overwrite: true }));
  assert.is(error!.code, 'ERR_OUT_OF_RANGE');
  assert.match(error!.message, /holds model, which no infonce run wrote there/);
  assert.is(readFileSync(join(out, 'model', 'mine.txt'), 'utf8'), 'precious');
  // A run of ours is overwritten as before.
  const ours = await interrupted('overwrite-ours');
  await train({ ...base, out: ours, overwrite: true });
  assert.ok(modelBytes(ours).equals(reference));
});

test('a resume that asks for another encoder, or gives other pairs, says which; a batch cut to the pairs is said', async () => {
  const out = await interrupted('changed');
  for (const [key, value] of [['dim', 16], ['width', 4], ['pooling', 'sqrt'], ['buckets', 256]] as const) {
    const error = await rejection(train({ ...base, out, resume: true, encoder: { ...base.encoder, [key]: value } }));
    assert.is(error!.code, 'ERR_OUT_OF_RANGE');
    assert.match(error!.message, new RegExp(`holds an encoder with ${key} ${JSON.stringify(base.encoder[key as 'dim'] ?? 'idf')}, this run asks for ${JSON.stringify(value)}`));
  }
  const other = await rejection(train({ ...base, out, resume: true, pairs: pairs.slice(0, 10) }));
  assert.match(other!.message, /was trained on other pairs \(48 pairs, fingerprint \w+\); these are 10 pairs/);
  const messages: string[] = [];
  await train({ ...base, pairs: pairs.slice(0, 10), steps: 1, out: join(work, 'cut'), log: (m) => messages.push(m) });
  assert.ok(messages.includes('batch size 16 is more than the 10 pairs: each step takes all 10'), messages.join('\n'));
});

// Flips one bit of a file's data section (past the header).
function flipBit(file: string, fromEnd: number): void {
  const bytes = readFileSync(file);
  bytes[bytes.length - fromEnd]! ^= 0x10;
  writeFileSync(file, bytes);
}

test('a flipped bit in the weights or the moments is refused by its checksum; model files carry the version that wrote them', async () => {
  const out = await interrupted('flip', 3);
  const model = join(out, 'checkpoints', 'step-0000003');
  const { metadata } = readSafetensors(join(model, 'model.safetensors'));
  assert.is(metadata['infonce.version'], packageVersion());
  assert.match(metadata['infonce.sha256.tokens']!, /^[0-9a-f]{64}$/);
  flipBit(join(model, 'model.safetensors'), 1001);
  const error = await rejection(Encoder.load(model));
  assert.is(error!.code, 'ERR_INVALID_FILE');
  assert.match(error!.message, /tensor "\w+" does not match its checksum \(sha256\): the file is corrupt/);
  // The only checkpoint is corrupt: the resume says why and does not start over.
  const resumed = await rejection(train({ ...base, out, resume: true }));
  assert.match(resumed!.message, /does not match its checksum/);

  const moments = await interrupted('flip-moments', 1);
  flipBit(join(moments, 'checkpoints', 'step-0000003', 'optimizer.safetensors'), 9);
  const messages: string[] = [];
  await train({ ...base, out: moments, resume: true, log: (m) => messages.push(m) });
  assert.ok(messages.some((m) => /step-0000003 cannot be read .*checksum.*; trying the checkpoint before it/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /resuming from .*step-0000002/.test(m)), messages.join('\n'));
  assert.ok(modelBytes(moments).equals(reference), 'the resume from the checkpoint before is not the uninterrupted run');
});

test('a run.json with "options": null is an invalid file, not a TypeError', async () => {
  const out = await interrupted('null-options');
  const file = join(out, 'checkpoints', 'step-0000003', 'run.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), options: null }));
  const error = await rejection(train({ ...base, out, resume: true }));
  assert.is(error!.code, 'ERR_INVALID_FILE');
  assert.match(error!.message, /run\.json: expected \{"step", "options": \{…\}/);
});

test('temporaries a kill left (a checkpoint folder not renamed, half-written files) are removed on resume, and said', async () => {
  const out = await interrupted('temporaries');
  mkdirSync(join(out, 'checkpoints', 'step-0000004.tmp'));
  writeFileSync(join(out, '.0123456789ab.tmp'), 'half');
  writeFileSync(join(out, 'notes.tmp'), 'the user\'s');
  const messages: string[] = [];
  await train({ ...base, out, resume: true, log: (m) => messages.push(m) });
  assert.not.ok(existsSync(join(out, 'checkpoints', 'step-0000004.tmp')));
  assert.not.ok(readdirSync(out).includes('.0123456789ab.tmp'));
  assert.ok(existsSync(join(out, 'notes.tmp')), 'a file the run did not write was removed');
  assert.is(messages.filter((m) => /left by an interrupted write/.test(m)).length, 2, messages.join('\n'));
});

test.run();
