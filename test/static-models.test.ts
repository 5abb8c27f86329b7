// Static embedding models in the Model2Vec and sentence-transformers formats: tokenised by their own
// tokenizer.json (WordPiece, Unigram, BPE; the fixtures in test/fixtures/tokenizers), embedded as each
// format defines it (checked against a float64 recomputation), saved back in the format they came in
// and loaded again bit for bit, fine-tuned by the trainer, and bad folders refused naming the file.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed, gaussianMatrix } from '../bench/random.js';
import { Encoder } from '../lib/encoder/registry.js';
import { StaticEncoder } from '../lib/encoder/static.js';
import { writeSafetensors } from '../lib/io/safetensors.js';
import { packageRoot } from '../lib/native.js';
import { train } from '../lib/train/trainer.js';
import type { CaughtError } from './caught.js';

const test = suite('static models (Model2Vec, sentence-transformers)');
const work = mkdtempSync(join(tmpdir(), 'infonce-static-'));
const seed = freshSeed();
const fixture = (name: string) => join(packageRoot(), 'test', 'fixtures', 'tokenizers', `${name}.json`);
const VOCABULARY = { wordpiece: 13, unigram: 15, bpe: 19 } as const;
type Kind = keyof typeof VOCABULARY;
const DIM = 6;

function model2vecFolder(name: string, kind: Kind, options: { normalize?: boolean; rows?: number; tensor?: string } = {}) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  cpSync(fixture(kind), join(dir, 'tokenizer.json'));
  const rows = options.rows ?? VOCABULARY[kind];
  const table = gaussianMatrix(rows, DIM, seed + rows);
  writeSafetensors(join(dir, 'model.safetensors'), { [options.tensor ?? 'embeddings']: { dtype: 'F32', shape: [rows, DIM], data: table } });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'model2vec', architectures: ['StaticModel'], hidden_dim: DIM, normalize: options.normalize ?? true }));
  return { dir, table };
}

function sentenceTransformersFolder(name: string, kind: Kind, normalize = true) {
  const dir = join(work, name);
  mkdirSync(join(dir, '0_StaticEmbedding'), { recursive: true });
  cpSync(fixture(kind), join(dir, '0_StaticEmbedding', 'tokenizer.json'));
  const table = gaussianMatrix(VOCABULARY[kind], DIM, seed + 7);
  writeSafetensors(join(dir, '0_StaticEmbedding', 'model.safetensors'), { 'embedding.weight': { dtype: 'F32', shape: [VOCABULARY[kind], DIM], data: table } });
  const modules = [{ idx: 0, name: '0', path: '0_StaticEmbedding', type: 'sentence_transformers.models.StaticEmbedding' }];
  if (normalize) {
    modules.push({ idx: 1, name: '1', path: '1_Normalize', type: 'sentence_transformers.models.Normalize' });
    mkdirSync(join(dir, '1_Normalize'));
  }
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  writeFileSync(join(dir, 'config_sentence_transformers.json'), JSON.stringify({ similarity_fn_name: 'cosine' }));
  return { dir, table };
}

// The format's pooling in float64: the mean of the rows of `ids`, then L2-normalised (zeros stay zeros).
function expected(table: Float32Array, ids: number[]): number[] {
  const mean = new Array<number>(DIM).fill(0);
  for (const id of ids) for (let k = 0; k < DIM; k++) mean[k]! += table[id * DIM + k]! / ids.length;
  const norm = Math.hypot(...mean);
  return norm > 0 ? mean.map((v) => v / norm) : mean;
}

function assertClose(got: Float32Array, want: number[], what: string) {
  for (let k = 0; k < want.length; k++) assert.ok(Math.abs(got[k]! - want[k]!) < 1e-6, `${what}: coordinate ${k}: ${got[k]} vs ${want[k]}, seed ${seed}`);
}

const texts = ['Split an arrays!', 'split xyz', 'sorted list'];
// The tokenizers' ids of `texts` without special tokens (what @huggingface/tokenizers gives for the fixtures).
const IDS: Record<Kind, number[][]> = {
  wordpiece: [[4, 5, 6, 7, 12], [4, 1], [10, 11, 9]],
  unigram: [[5, 0, 13, 11, 12, 10, 2, 3, 4, 0], [1, 5, 0, 8, 0], [5, 4, 14, 7, 10, 0, 5, 11, 12, 4, 10]],
  bpe: [[13, 14, 18, 1, 0], [13, 0, 9, 0], [1, 0, 8, 5, 0, 0, 3, 4, 1, 5]],
};
// Model2Vec drops the unknown token of WordPiece and BPE models (not Unigram's: its model has no unk_token).
const UNKNOWN: Record<Kind, number | undefined> = { wordpiece: 1, unigram: undefined, bpe: 0 };

for (const kind of ['wordpiece', 'unigram', 'bpe'] as const) {
  test(`Model2Vec, ${kind}: ids as the tokenizer gives them (unknown dropped), the normalised mean of their rows`, async () => {
    const { dir, table } = model2vecFolder(`m2v-${kind}`, kind);
    const encoder = await Encoder.load(dir);
    assert.instance(encoder, StaticEncoder);
    assert.is(encoder.dim, DIM);
    const batch = encoder.tokenize(texts, 'document');
    const ids = IDS[kind].map((list) => list.filter((id) => id !== UNKNOWN[kind]));
    assert.equal(Array.from(batch.ids), ids.flat());
    const vectors = await encoder.embed(texts);
    ids.forEach((list, t) => assertClose(vectors.subarray(t * DIM, (t + 1) * DIM), expected(table, list), `${kind} text ${t}`));
  });

  test(`sentence-transformers, ${kind}: every id (the unknown too), EmbeddingBag's mean, Normalize`, async () => {
    const { dir, table } = sentenceTransformersFolder(`st-${kind}`, kind);
    const encoder = await Encoder.load(dir);
    assert.equal(Array.from(encoder.tokenize(texts, 'query').ids), IDS[kind].flat());
    const vectors = await encoder.embed(texts, { side: 'query' });
    IDS[kind].forEach((list, t) => assertClose(vectors.subarray(t * DIM, (t + 1) * DIM), expected(table, list), `${kind} text ${t}`));
  });
}

test('embedding many batches lets the event loop run between them', async () => {
  const { dir } = model2vecFolder('m2v-loop', 'wordpiece');
  const encoder = await Encoder.load(dir);
  // A chain of immediates (one a turn of the event loop), not a timer: a timer's ticks depend on how
  // many milliseconds 20 small batches take (4 on a fast run), the turns only on the yields.
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await encoder.embed(Array.from({ length: 200 }, (_, i) => texts[i % texts.length]!), { batchSize: 10 });
  } finally {
    running = false;
  }
  assert.ok(ticks >= 5, `the event loop turned ${ticks} times during 20 batches`);
});

test('a text with no known token embeds as zeros (Model2Vec), not NaN', async () => {
  const { dir } = model2vecFolder('m2v-empty', 'wordpiece');
  const encoder = await Encoder.load(dir);
  const vectors = await encoder.embed(['xyz qqq', '']);
  assert.ok(vectors.every((v) => v === 0));
});

test('saved back in the format it came in (and ours), loaded again: bit-identical embeddings', async () => {
  for (const [name, make] of [
    ['m2v-roundtrip', () => model2vecFolder('m2v-roundtrip-source', 'unigram', { normalize: false })],
    ['st-roundtrip', () => sentenceTransformersFolder('st-roundtrip-source', 'bpe')],
  ] as const) {
    const source = await Encoder.load(make().dir);
    const out = join(work, name);
    source.save(out);
    const again = await Encoder.load(out);
    assert.equal(await again.embed(texts), await source.embed(texts), name);
    assert.equal(again.config, source.config, name);
  }
  // The Model2Vec layout: config.json keeps model_type (and normalize as it was), model.safetensors holds "embeddings".
  const config = JSON.parse(readFileSync(join(work, 'm2v-roundtrip', 'config.json'), 'utf8'));
  assert.is(config.model_type, 'model2vec');
  assert.is(config.normalize, false);
  assert.ok(readFileSync(join(work, 'm2v-roundtrip', 'model.safetensors')).includes('"embeddings"'));
  assert.equal(readFileSync(join(work, 'm2v-roundtrip', 'tokenizer.json'), 'utf8'), readFileSync(fixture('unigram'), 'utf8'));
  // The sentence-transformers layout: modules.json, the module's folder with "embedding.weight" and its tokenizer, Normalize's folder.
  const modules = JSON.parse(readFileSync(join(work, 'st-roundtrip', 'modules.json'), 'utf8'));
  assert.equal(modules.map((m: { type: string }) => m.type), ['sentence_transformers.models.StaticEmbedding', 'sentence_transformers.models.Normalize']);
  assert.ok(readFileSync(join(work, 'st-roundtrip', '0_StaticEmbedding', 'model.safetensors')).includes('"embedding.weight"'));
  assert.ok(readFileSync(join(work, 'st-roundtrip', '0_StaticEmbedding', 'tokenizer.json'), 'utf8').includes('"BPE"'));
});

test('fine-tuned by the trainer (contrastive loss, masking, checkpoints) and saved in its format', async () => {
  const { dir } = model2vecFolder('m2v-train', 'wordpiece');
  const initial = await Encoder.load(dir);
  const before = (initial as StaticEncoder).table.slice();
  const words = ['split', 'an', 'array', 'the', 'list', 'sort', 'sorted', 'arrays'];
  const pairs = Array.from({ length: 48 }, (_, i) => ({ query: `${words[i % 8]} ${words[(i * 3) % 8]}`, positive: `${words[i % 8]} the ${words[(i * 5 + 1) % 8]}` }));
  const out = join(work, 'm2v-trained');
  // The whole set each step (a batch of all 48 pairs), so that the loss is comparable from step to step.
  const run = await train({ pairs, out, steps: 6, batchSize: 48, learningRate: 0.05, initialEncoder: initial, threads: 2, checkpointEvery: 3 });
  assert.ok(run.steps[run.steps.length - 1]!.loss < run.steps[0]!.loss, 'the loss did not go down');
  const saved = await Encoder.load(join(out, 'model'));
  assert.instance(saved, StaticEncoder);
  assert.is(JSON.parse(readFileSync(join(out, 'model', 'config.json'), 'utf8')).model_type, 'model2vec');
  assert.not.equal((saved as StaticEncoder).table, before, 'the table did not change');
  assert.equal(await saved.embed(texts), await run.encoder.embed(texts));
});

async function refusal(dir: string): Promise<CaughtError> {
  const error = await Encoder.load(dir).then(() => undefined, (e: CaughtError) => e);
  assert.ok(error, `${dir} loaded`);
  return error!;
}

test('bad folders: each an ERR_INVALID_FILE naming the file and what was expected', async () => {
  const missingTokenizer = model2vecFolder('bad-no-tokenizer', 'bpe').dir;
  rmSync(join(missingTokenizer, 'tokenizer.json'));
  const wrongShape = model2vecFolder('bad-shape', 'wordpiece', { rows: 5 }).dir;
  const unknownModel = model2vecFolder('bad-model', 'bpe').dir;
  writeFileSync(join(unknownModel, 'tokenizer.json'), readFileSync(fixture('bpe'), 'utf8').replace('"type":"BPE"', '"type":"Charades"'));
  const otherConfig = model2vecFolder('bad-config', 'bpe').dir;
  writeFileSync(join(otherConfig, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 768 }));
  const extraTensor = model2vecFolder('bad-weights', 'bpe').dir;
  writeSafetensors(join(extraTensor, 'model.safetensors'), {
    embeddings: { dtype: 'F32', shape: [19, DIM], data: new Float32Array(19 * DIM) },
    weights: { dtype: 'F32', shape: [19], data: new Float32Array(19) },
  });
  const transformer = sentenceTransformersFolder('bad-transformer', 'bpe').dir;
  writeFileSync(join(transformer, 'modules.json'), JSON.stringify([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }]));
  const cases: Array<[string, RegExp]> = [
    [missingTokenizer, /bad-no-tokenizer\/tokenizer\.json: missing/],
    [wrongShape, /bad-shape\/model\.safetensors: tensor "embeddings" has 5 rows of 6; the tokenizer's ids need 13 rows/],
    [unknownModel, /bad-model\/tokenizer\.json: "model\.type" is "Charades"; this version reads WordPiece, BPE, Unigram, WordLevel/],
    [otherConfig, /bad-config\/config\.json: has no "kind" \(infonce's models\) and is not a Model2Vec config \("model_type": "model2vec", got "bert"\)/],
    [extraTensor, /bad-weights\/model\.safetensors: also holds "weights"/],
    [transformer, /bad-transformer\/modules\.json: lists no StaticEmbedding module \(sentence_transformers\.models\.Transformer\)/],
  ];
  for (const [dir, message] of cases) {
    const error = await refusal(dir);
    assert.is(error.code, 'ERR_INVALID_FILE', `${dir}: ${error.message}`);
    assert.instance(error, RangeError);
    assert.match(error.message, message);
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
