// A careless or hostile user: text with special tokens, huge texts, wrong options, an --out that
// holds an earlier run, Ctrl-C mid-run, corrupted model and BEIR files. Each gets a clear error (the
// right class, a code, the argument or the file and line) or a correct result; no run is lost.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { corpusFormat, readCorpus } from '../lib/cli/io.js';
import { BagEncoder } from '../lib/encoder/bag.js';
import { Encoder } from '../lib/encoder/registry.js';
import { SIDE_MARKERS, tokenize } from '../lib/encoder/tokenizer.js';
import { readBeir } from '../lib/eval/formats.js';
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { packageRoot } from '../lib/native.js';
import { readPairs, type Pair } from '../lib/train/pairs-file.js';
import { train, TrainingAborted } from '../lib/train/trainer.js';
import { rejection, thrown } from './caught.js';

const test = suite('hardening');
const work = mkdtempSync(join(tmpdir(), 'infonce-hardening-'));


const topics = ['apples', 'rivers', 'engines', 'violins', 'glaciers', 'comets', 'bridges', 'tulips'];
const pairs: Pair[] = topics.flatMap((topic, t) =>
  Array.from({ length: 6 }, (_, k) => ({ query: `notes on ${topic} ${k}`, positive: `${topic} ${topics[(t + k) % 8]} detail ${k}` })),
);
const base = { pairs, steps: 6, batchSize: 16, learningRate: 5e-3, encoder: { init: 'random' as const, width: 8, dim: 8, buckets: 512 }, threads: 1 };
const modelBytes = (out: string) => readFileSync(join(out, 'model', 'model.safetensors'));

test('text is text: "<|endoftext|>" is encoded as characters, and a 1,200,000-character text is truncated', () => {
  const { ids } = tokenize(['hello <|endoftext|> world'], 'query', 64);
  assert.ok(ids.length > 4);
  assert.not.ok(ids.includes(100257), 'encoded as the special token');
  const huge = tokenize(['many words '.repeat(110_000)], 'document', 16);
  assert.is(huge.ids.length, 16);
  assert.is(huge.ids[0], SIDE_MARKERS.document);
});

test('embed: a string instead of an array, and an unknown side, are errors with a code', async () => {
  const encoder = await BagEncoder.create({ init: 'random', width: 8, dim: 8, buckets: 64 });
  const notArray = await rejection(encoder.embed('hello' as unknown as string[]));
  assert.instance(notArray, TypeError);
  assert.is(notArray!.code, 'ERR_INVALID_ARG_TYPE');
  assert.match(notArray!.message, /^texts: expected an array of strings, got string/);
  const side = await rejection(encoder.embed(['hello'], { side: 'Query' as 'query' }));
  assert.instance(side, RangeError);
  assert.match(side!.message, /^side: expected 'query' or 'document', got "Query"/);
});

for (const [name, change, message] of [
  ['learningRate -1', { learningRate: -1 }, /^learningRate: expected a number in \(0, 1\], got -1/],
  ['learningRate 1e6', { learningRate: 1e6 }, /^learningRate: /],
  ['clip NaN', { clip: NaN }, /^clip: expected a positive number/],
  ['warmupSteps -5', { warmupSteps: -5 }, /^warmupSteps: expected an integer ≥ 0, got -5/],
  ['microBatch 0', { microBatch: 0 }, /^microBatch: expected an integer ≥ 1, got 0/],
  ['microBatch 1.5', { microBatch: 1.5 }, /^microBatch: /],
  ['microBatch NaN', { microBatch: NaN }, /^microBatch: /],
  ['backend gpu', { backend: 'gpu' }, /^backend: expected 'cpu', 'cuda' or 'auto'/],
] as const)
  test(`train(): ${name} is refused before anything is written`, async () => {
    const out = join(work, `options-${name.replace(/\W/g, '')}`);
    const error = await rejection(train({ ...base, out, ...change } as Parameters<typeof train>[0]));
    assert.instance(error, RangeError);
    assert.is(error!.code, 'ERR_OUT_OF_RANGE');
    assert.match(error!.message, message);
    assert.not.ok(existsSync(out));
  });

if (!backendInfo().cuda.available)
  test("train --backend cuda without a GPU fails at once, before any setup", async () => {
    const out = join(work, 'cuda');
    const messages: string[] = [];
    const error = await rejection(train({ ...base, out, backend: 'cuda', encoder: { init: 'wink' }, log: (m) => messages.push(m) }));
    assert.match(String(error?.code), /^ERR_CUDA_/);
    // Setup would have said so (loading the word vectors) and made the output folder.
    assert.equal(messages, []);
    assert.not.ok(existsSync(out), 'the output folder was made before the GPU was checked');
  });

test('an --out holding a run is refused; overwrite starts afresh; resume extends a finished run', async () => {
  const out = join(work, 'reuse');
  await train({ ...base, out });
  const refused = await rejection(train({ ...base, out, seed: 2 }));
  assert.instance(refused, RangeError);
  assert.match(refused!.message, /holds an earlier run \(checkpoints, model, train\.jsonl\); continue it with resume .* overwrite/);
  const changed = await rejection(train({ ...base, out, seed: 2, resume: true }));
  assert.match(changed!.message, /^resume: .* was made with seed 1, this run asks for 2/);
  const fewer = await rejection(train({ ...base, out, steps: 4, resume: true }));
  assert.match(fewer!.message, /^steps: .* is at step 6 already/);
  // Extended from 6 to 9 steps: the log continues, the model is rewritten.
  const extended = await train({ ...base, out, steps: 9, resume: true });
  assert.equal(extended.steps.map((s) => s.step), [7, 8, 9]);
  const log = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(log, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Overwrite: the earlier run's checkpoints go, and the new run's latest checkpoint loads.
  await train({ ...base, out, seed: 2, overwrite: true, checkpointEvery: 2 });
  assert.equal(readdirSync(join(out, 'checkpoints')).filter((f) => f.startsWith('step-')).sort(), ['step-0000004', 'step-0000006']);
  assert.is(readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').length, 6);
});

test('keepCheckpoints: the run keeps its latest n checkpoints, and says how much disk it takes', async () => {
  const out = join(work, 'keep');
  const messages: string[] = [];
  await train({ ...base, out, checkpointEvery: 1, keepCheckpoints: 1, log: (m) => messages.push(m) });
  assert.equal(readdirSync(join(out, 'checkpoints')).filter((f) => f.startsWith('step-')), ['step-0000006']);
  assert.ok(messages.some((m) => /^disk: model \d+ MB, checkpoints \d+ MB/.test(m)), messages.join('\n'));
  const refused = await rejection(train({ ...base, out: join(work, 'keep0'), keepCheckpoints: 0 }));
  assert.match(refused!.message, /^keepCheckpoints: expected an integer ≥ 1, got 0/);
});

test('an aborted run writes a checkpoint at once, and resuming it ends bit-identical to an uninterrupted run', async () => {
  const straight = join(work, 'straight');
  await train({ ...base, out: straight, checkpointEvery: 100 });
  const out = join(work, 'aborted');
  const stop = new AbortController();
  const error = await rejection(train({ ...base, out, checkpointEvery: 100, signal: stop.signal, onStep: (r) => r.step === 3 && stop.abort() }));
  assert.instance(error, TrainingAborted);
  assert.is((error as TrainingAborted).step, 3);
  assert.ok(existsSync(join(out, 'checkpoints', 'step-0000003')));
  await train({ ...base, out, checkpointEvery: 100, resume: true });
  assert.ok(modelBytes(straight).equals(modelBytes(out)));
});

test('Ctrl-C (SIGINT) during `infonce train`: a final checkpoint, the resume command, exit code 130', async () => {
  const pairsFile = join(work, 'signal-pairs.jsonl');
  writeFileSync(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const out = join(work, 'signalled');
  const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'lib', 'cli', 'index.ts'), 'train', '--pairs', pairsFile, '--out', out,
    '--steps', '100000', '--batch', '16', '--init', 'random', '--dim', '8', '--width', '8', '--buckets', '512', '--checkpoint-every', '1000000']);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  while (!existsSync(join(out, 'train.jsonl')) || readFileSync(join(out, 'train.jsonl'), 'utf8').split('\n').length < 3)
    await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  assert.is(await exited, 130, stderr);
  assert.match(stderr, /resume with: infonce train --pairs .* --resume/);
  const latest = readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim();
  const steps = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').length;
  assert.is(latest, `step-${String(steps).padStart(7, '0')}`, 'the checkpoint is not at the last step logged');
});

test('search --corpus: the format comes from the flag or the extension, never from a leading "{"', async () => {
  const text = join(work, 'corpus.txt');
  writeFileSync(text, '{braces} are fine in plain text\nsecond line\n');
  assert.equal(await readCorpus(text), ['{braces} are fine in plain text', 'second line']);
  const jsonl = join(work, 'corpus.jsonl');
  writeFileSync(jsonl, '{"text": "a document"}\n');
  assert.equal(await readCorpus(jsonl), ['a document']);
  assert.equal(await readCorpus(text, corpusFormat(text, 'lines')), ['{braces} are fine in plain text', 'second line']);
  assert.throws(() => corpusFormat(text, 'csv'), /^--format takes lines or jsonl, got 'csv'/);
});

test('a pairs file with a UTF-8 byte-order mark reads', async () => {
  const file = join(work, 'bom.jsonl');
  writeFileSync(file, '\uFEFF{"query": "a", "positive": "b"}\n');
  assert.equal(await readPairs(file), [{ query: 'a', positive: 'b' }]);
});

// A small saved model to corrupt.
async function savedModel(name: string): Promise<string> {
  const dir = join(work, name);
  (await BagEncoder.create({ init: 'random', width: 4, dim: 4, buckets: 8 })).save(dir);
  return dir;
}

function rewriteHeader(file: string, change: (header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) {
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  change(header);
  let json = JSON.stringify(header);
  json += ' '.repeat(Math.max(0, length - Buffer.byteLength(json)));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(file, Buffer.concat([prefix, Buffer.from(json), bytes.subarray(8 + length)]));
}

for (const [name, corrupt, message] of [
  ['a negative offset', (h: Parameters<Parameters<typeof rewriteHeader>[1]>[0]) => (h.projection!.data_offsets[0] = -64), /tensor "projection": data_offsets \[-64,/],
  ['overlapping tensors', (h: Parameters<Parameters<typeof rewriteHeader>[1]>[0]) => {
    const [b, e] = h.bigrams!.data_offsets as [number, number];
    h.projection!.data_offsets = [b, b + (h.projection!.data_offsets[1]! - h.projection!.data_offsets[0]!)];
    void e;
  }, /overlap/],
  ['a shape that does not match its bytes', (h: Parameters<Parameters<typeof rewriteHeader>[1]>[0]) => (h.projection!.shape = [4, 5]), /tensor "projection": shape \[4,5\] of F32 needs 80 bytes, its range has 64/],
  ['an F64 dtype', (h: Parameters<Parameters<typeof rewriteHeader>[1]>[0]) => (h.tokens!.dtype = 'F64'), /tensor "tokens" has dtype "F64"; this reader knows F32, F16, BF16 and I32/],
  // F16 is read (widened to F32), but its 2 bytes an element do not fill a range written for F32.
  ['an F16 dtype over F32 bytes', (h: Parameters<Parameters<typeof rewriteHeader>[1]>[0]) => (h.tokens!.dtype = 'F16'), /tensor "tokens": shape \[\d+,\d+\] of F16 needs \d+ bytes, its range has \d+/],
] as const)
  test(`model.safetensors with ${name} is refused, naming the file and the tensor`, async () => {
    const dir = await savedModel(`corrupt-${name.replace(/\W/g, '')}`);
    rewriteHeader(join(dir, 'model.safetensors'), corrupt);
    const error = await rejection(Encoder.load(dir));
    assert.instance(error, RangeError);
    assert.is(error!.code, 'ERR_INVALID_FILE');
    assert.ok(error!.message.startsWith(join(dir, 'model.safetensors')), error!.message);
    assert.match(error!.message, message);
  });

test('NaN weights and a config.json out of range are refused', async () => {
  // Written with the NaN (so that its checksum matches): the value check refuses it.
  const dir = join(work, 'nan');
  const encoder = await BagEncoder.create({ init: 'random', width: 4, dim: 4, buckets: 8 });
  encoder.tokens[encoder.tokens.length - 1] = NaN;
  encoder.save(dir);
  assert.match((await rejection(Encoder.load(dir)))!.message, /tensor "tokens" holds NaN at row \d+, column 3/);
  const other = await savedModel('config');
  const config = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8'));
  writeFileSync(join(other, 'config.json'), JSON.stringify({ ...config, maxTokens: -5 }));
  const error = await rejection(Encoder.load(other));
  assert.is(error!.code, 'ERR_INVALID_FILE');
  assert.match(error!.message, /config\.json: "maxTokens" must be an integer from 2 to 1000000, got -5/);
});

test('checkpoints/latest is never followed: a resume takes the newest complete checkpoint folder of the run', async () => {
  const out = join(work, 'latest');
  await train({ ...base, out, stopAfter: 3, checkpointEvery: 3 });
  writeFileSync(join(out, 'checkpoints', 'latest'), '../../model\n');
  const messages: string[] = [];
  const { steps } = await train({ ...base, out, resume: true, log: (m) => messages.push(m) });
  assert.equal(steps.map((r) => r.step), [4, 5, 6]);
  assert.ok(messages.some((m) => /resuming from .*step-0000003/.test(m)), messages.join('\n'));
});

// BEIR folders with something wrong.
function beir(name: string, files: { corpus?: string; queries?: string; qrels?: string }): string {
  const dir = join(work, `beir-${name}`);
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  writeFileSync(join(dir, 'corpus.jsonl'), files.corpus ?? '{"_id": "d1", "text": "apples"}\n{"_id": "d2", "text": "rivers"}\n');
  writeFileSync(join(dir, 'queries.jsonl'), files.queries ?? '{"_id": "q1", "text": "fruit"}\n{"_id": "q2", "text": "water"}\n');
  writeFileSync(join(dir, 'qrels', 'test.tsv'), files.qrels ?? 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  return dir;
}
const drain = async (task: Awaited<ReturnType<typeof readBeir>>) => {
  for await (const chunk of task.corpus()) void chunk;
};

test('BEIR: empty qrels, qrels of no query, duplicate ids and a null line are errors naming the file', async () => {
  assert.match((await rejection(readBeir(beir('empty', { qrels: 'query-id\tcorpus-id\tscore\n' }))))!.message, /test\.tsv: no judgements/);
  assert.match((await rejection(readBeir(beir('none', { qrels: 'q9\td1\t1\n' }))))!.message, /none of the 2 queries .* has a judgement/);
  assert.match(
    (await rejection(readBeir(beir('dupq', { queries: '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n' }))))!.message,
    /queries\.jsonl:2: "_id" "q1" is also the id of line 1/,
  );
  const duplicateDocs = await readBeir(beir('dupd', { corpus: '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n' }));
  assert.match((await rejection(drain(duplicateDocs)))!.message, /corpus\.jsonl:2: "_id" "d1" appears twice/);
  const nullLine = await readBeir(beir('null', { corpus: '{"_id": "d1", "text": "a"}\nnull\n' }));
  assert.match((await rejection(drain(nullLine)))!.message, /corpus\.jsonl:2: expected a JSON object/);
  assert.match((await readBeir(beir('partial', {}))).name, /1 of 2 queries judged/);
});

if (!backendInfo().cuda.available)
  test("precision 'fp16' with backend 'auto' and no GPU is refused, not run as fp32", async () => {
    const x = new Float32Array(8).map((_, i) => i + 1);
    const error = await rejection(contrastiveLoss(x, x, { rows: 2, dim: 4, precision: 'fp16' }));
    assert.instance(error, RangeError);
    assert.match(error!.message, /^precision: 'fp16' is for the GPU; backend 'auto' found none \(.+\), and the CPU computes in 'fp32' or 'bf16'/);
  });

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
