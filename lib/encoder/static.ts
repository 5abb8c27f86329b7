// Static embedding models (a token table, mean-pooled) in the two formats people use, Model2Vec and
// sentence-transformers' StaticEmbedding, each with its own Hugging Face tokenizer: loaded from a
// folder, embedded, fine-tuned by the trainer like any encoder, and saved back in the format they
// came in (with our config.json beside, so that Encoder.load and checkpoints read them too).
//
// Pooling and normalisation as each format defines them:
// - Model2Vec (MinishLab/model2vec, StaticModel.tokenize/_encode_batch): ids without special tokens;
//   the unknown token dropped (WordPiece, BPE and WordLevel models); a text cut to 512 × the median
//   token length characters, then to 512 ids; the mean of the rows (zeros for no ids); L2-normalised
//   when config.json says "normalize".
// - sentence-transformers (models/StaticEmbedding.py): ids without special tokens, all of them;
//   nn.EmbeddingBag's mean (zeros for no ids); L2-normalised when modules.json lists a Normalize module.
// infonce's embed() always normalises (cosine search), so a model that does not gives the same
// directions. Neither format marks queries and documents apart: `side` is ignored.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { markAsUntransferable } from 'node:worker_threads';

import { writeFileAtomic } from '../io/atomic.js';
import { parseJson, readJsonObject, readJsonText } from '../io/json-file.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { allocateFloat32 } from '../memory.js';
import { addon, packageVersion } from '../native.js';
import { invalidFile, invalidType, outOfRange } from '../util/errors.js';
import { Encoder, type EncoderConfig, type Forward, type Gradient, type Parameter } from './encoder.js';
import { loadHfTokenizer, type HfTokenizer } from './hf-tokenizer.js';
import type { Side, TokenBatch } from './tokenizer.js';

export type StaticFormat = 'model2vec' | 'sentence-transformers';

export interface StaticConfig extends EncoderConfig {
  kind: 'static';
  /** The layout the model came in, and is saved back in. */
  format: StaticFormat;
  /** Rows of the token table (every id of the tokenizer has one). */
  vocabulary: number;
  /** Whether the format's own output is normalised (Model2Vec "normalize", a Normalize module). */
  normalize: boolean;
  /** Model2Vec's cut (512 ids, and 512 × the median token length characters); null: none (sentence-transformers). */
  maxTokens: number | null;
  /** sentence-transformers: the StaticEmbedding module's folder and the Normalize module's, from modules.json. */
  modulePath?: string;
  normalizePath?: string;
}

// Model2Vec's default max_length of encode().
const MODEL2VEC_MAX_TOKENS = 512;
const OUR_KEYS = ['kind', 'dim', 'format', 'vocabulary', 'normalize', 'maxTokens', 'modulePath', 'normalizePath'];

// The table of `file`: the one tensor `names` allows, F32 (or F16/BF16, widened), [rows ≥ vocabulary, dim].
function readTable(file: string, names: string[], vocabulary: number): { table: Float32Array; rows: number; dim: number } {
  const { tensors } = readSafetensors(file);
  const present = Object.keys(tensors);
  const name = names.find((n) => tensors[n]);
  if (!name) throw invalidFile(file, `expected a tensor ${names.map((n) => `"${n}"`).join(' or ')}, found ${present.map((n) => `"${n}"`).join(', ') || 'none'}`);
  const others = present.filter((n) => n !== name);
  if (others.length)
    throw invalidFile(file, `also holds ${others.map((n) => `"${n}"`).join(', ')} (token weights or a vocabulary mapping?), which this version does not apply`);
  const t = tensors[name]!;
  if (t.dtype !== 'F32' || t.shape.length !== 2)
    throw invalidFile(file, `tensor "${name}" must be a float matrix [vocabulary, dim], got ${t.dtype} [${t.shape.join(', ')}]`);
  const [rows, dim] = t.shape as [number, number];
  if (rows < vocabulary || dim < 1)
    throw invalidFile(file, `tensor "${name}" has ${rows} rows of ${dim}; the tokenizer's ids need ${vocabulary} rows`);
  const data = t.data as Float32Array;
  for (let k = 0; k < data.length; k++)
    if (!Number.isFinite(data[k]!)) throw invalidFile(file, `tensor "${name}" holds ${data[k]} at row ${Math.floor(k / dim)}, column ${k % dim}`);
  return { table: data, rows, dim };
}

export class StaticEncoder extends Encoder {
  readonly config: StaticConfig;
  readonly table: Float32Array;
  private readonly tokenizer: HfTokenizer;
  // What the folder held beside the table, written back unchanged: Model2Vec's config.json (less our
  // keys), sentence-transformers' modules.json and config_sentence_transformers.json.
  private readonly source: Record<string, string>;

  private constructor(config: StaticConfig, table: Float32Array, tokenizer: HfTokenizer, source: Record<string, string>) {
    super();
    this.config = config;
    this.table = addon.isOwnedTable(table) ? table : allocateFloat32(table.length);
    if (this.table !== table) this.table.set(table);
    markAsUntransferable(this.table.buffer);
    this.tokenizer = tokenizer;
    this.source = source;
  }

  /** A Model2Vec folder: model.safetensors ("embeddings"), tokenizer.json, config.json ("model_type": "model2vec"). */
  static fromModel2Vec(dir: string): StaticEncoder {
    const configFile = join(dir, 'config.json');
    const config = readJsonObject(configFile);
    if (config.model_type !== 'model2vec' && config.format !== 'model2vec')
      throw invalidFile(configFile, `"model_type" is ${JSON.stringify(config.model_type)}; a Model2Vec folder says "model2vec"`);
    if (config.normalize !== undefined && typeof config.normalize !== 'boolean')
      throw invalidFile(configFile, `"normalize" must be true or false, got ${JSON.stringify(config.normalize)}`);
    const tokenizer = loadHfTokenizer(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
    const { table, rows, dim } = readTable(join(dir, 'model.safetensors'), ['embeddings'], tokenizer.vocabulary);
    const source = Object.fromEntries(Object.entries(config).filter(([k]) => !OUR_KEYS.includes(k)));
    return new StaticEncoder(
      { kind: 'static', dim, format: 'model2vec', vocabulary: rows, normalize: config.normalize === true, maxTokens: MODEL2VEC_MAX_TOKENS },
      table,
      tokenizer,
      { 'config.json': JSON.stringify(source) },
    );
  }

  /** A sentence-transformers folder whose modules.json lists a StaticEmbedding (and optionally a Normalize). */
  static fromSentenceTransformers(dir: string): StaticEncoder {
    const modulesFile = join(dir, 'modules.json');
    const modules = parseJson(modulesFile, readJsonText(modulesFile));
    if (!Array.isArray(modules)) throw invalidFile(modulesFile, 'expected a list of modules');
    const typeOf = (m: unknown) => String((m as { type?: unknown }).type ?? '');
    const embedding = modules.find((m) => typeOf(m).endsWith('.StaticEmbedding'));
    if (!embedding)
      throw invalidFile(modulesFile, `lists no StaticEmbedding module (${modules.map(typeOf).join(', ') || 'none'}); this version loads static models only`);
    const unknown = modules.filter((m) => m !== embedding && !typeOf(m).endsWith('.Normalize'));
    if (unknown.length)
      throw invalidFile(modulesFile, `lists ${unknown.map(typeOf).join(', ')} after the StaticEmbedding; this version applies Normalize only`);
    const modulePath = String((embedding as { path?: unknown }).path ?? '');
    const normalizeModule = modules.find((m) => typeOf(m).endsWith('.Normalize')) as { path?: unknown } | undefined;
    const moduleDir = join(dir, modulePath);
    const tokenizer = loadHfTokenizer(join(moduleDir, 'tokenizer.json'));
    const { table, rows, dim } = readTable(join(moduleDir, 'model.safetensors'), ['embedding.weight', 'embeddings'], tokenizer.vocabulary);
    const source: Record<string, string> = { 'modules.json': JSON.stringify(modules, null, 2) };
    const stConfig = join(dir, 'config_sentence_transformers.json');
    if (existsSync(stConfig)) source['config_sentence_transformers.json'] = JSON.stringify(readJsonObject(stConfig), null, 2);
    return new StaticEncoder(
      {
        kind: 'static',
        dim,
        format: 'sentence-transformers',
        vocabulary: rows,
        normalize: normalizeModule !== undefined,
        maxTokens: null,
        modulePath,
        ...(normalizeModule ? { normalizePath: String(normalizeModule.path ?? '') } : {}),
      },
      table,
      tokenizer,
      source,
    );
  }

  /** The token ids of one text, as the format tokenises it. */
  private ids(text: string): number[] {
    const { maxTokens } = this.config;
    const cut = maxTokens === null ? text : text.slice(0, maxTokens * this.tokenizer.medianTokenLength);
    let ids = this.tokenizer.encode(cut);
    if (this.config.format === 'model2vec' && this.tokenizer.unknownId !== undefined) ids = ids.filter((id) => id !== this.tokenizer.unknownId);
    return maxTokens === null ? ids : ids.slice(0, maxTokens);
  }

  tokenize(texts: readonly string[], _side: Side): TokenBatch {
    if (!Array.isArray(texts)) throw invalidType(`texts: expected an array of strings, got ${texts === null ? 'null' : typeof texts}`);
    const lists = texts.map((text, t) => {
      if (typeof text !== 'string') throw invalidType(`texts[${t}]: expected a string, got ${text === null ? 'null' : typeof text}`);
      const ids = this.ids(text);
      for (const id of ids) if (id >= this.config.vocabulary) throw outOfRange(`texts[${t}]: token id ${id} has no row (the table has ${this.config.vocabulary})`);
      return ids;
    });
    const offsets = new Int32Array(texts.length + 1);
    lists.forEach((ids, t) => (offsets[t + 1] = offsets[t]! + ids.length));
    const ids = new Int32Array(offsets[texts.length]!);
    lists.forEach((list, t) => ids.set(list, offsets[t]!));
    return { ids, offsets };
  }

  // The mean of each text's rows (zeros for a text without ids), summed in double. In JavaScript (a
  // few ms a batch): it first lets the event loop run, since an await of a resolved promise would not,
  // and embed() of a large corpus would otherwise hold it for every batch in a row.
  async forward(batch: TokenBatch): Promise<Forward> {
    await new Promise((resolve) => setImmediate(resolve));
    const D = this.config.dim;
    const texts = batch.offsets.length - 1;
    const out = new Float32Array(texts * D);
    const sum = new Float64Array(D);
    for (let t = 0; t < texts; t++) {
      const begin = batch.offsets[t]!;
      const end = batch.offsets[t + 1]!;
      if (end === begin) continue;
      sum.fill(0);
      for (let i = begin; i < end; i++) {
        const row = batch.ids[i]! * D;
        for (let k = 0; k < D; k++) sum[k]! += this.table[row + k]!;
      }
      for (let k = 0; k < D; k++) out[t * D + k] = sum[k]! / (end - begin);
    }
    return { out, cache: null };
  }

  // d(mean)/d(row) = 1/n for each of the text's ids: the touched rows, summed.
  async backward(batch: TokenBatch, _forward: Forward, gradOut: Float32Array): Promise<Gradient[]> {
    await new Promise((resolve) => setImmediate(resolve));
    const D = this.config.dim;
    const place = new Map<number, number>();
    for (const id of batch.ids) if (!place.has(id)) place.set(id, place.size);
    const rows = Int32Array.from(place.keys());
    const grads = new Float32Array(rows.length * D);
    for (let t = 0; t + 1 < batch.offsets.length; t++) {
      const begin = batch.offsets[t]!;
      const end = batch.offsets[t + 1]!;
      const share = 1 / (end - begin);
      for (let i = begin; i < end; i++) {
        const at = place.get(batch.ids[i]!)! * D;
        for (let k = 0; k < D; k++) grads[at + k]! += gradOut[t * D + k]! * share;
      }
    }
    return [{ name: 'embeddings', rows, grads }];
  }

  parameters(): Parameter[] {
    return [{ name: 'embeddings', data: this.table, width: this.config.dim }];
  }

  /** Writes the format it came in, and our config.json (which Encoder.load reads first). */
  override save(dir: string, metadata: Record<string, string> = {}): void {
    const c = this.config;
    const tensorMetadata = { format: `infonce-static-${c.format}`, 'infonce.version': packageVersion(), ...metadata };
    const shape = [c.vocabulary, c.dim];
    mkdirSync(dir, { recursive: true });
    if (c.format === 'model2vec') {
      writeSafetensors(join(dir, 'model.safetensors'), { embeddings: { dtype: 'F32', shape, data: this.table } }, tensorMetadata);
      this.writeTokenizer(dir);
      const source = JSON.parse(this.source['config.json'] ?? '{}') as Record<string, unknown>;
      writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ ...source, model_type: 'model2vec', hidden_dim: c.dim, ...c }, null, 2) + '\n');
      return;
    }
    const moduleDir = join(dir, c.modulePath ?? '');
    mkdirSync(moduleDir, { recursive: true });
    writeSafetensors(join(moduleDir, 'model.safetensors'), { 'embedding.weight': { dtype: 'F32', shape, data: this.table } }, tensorMetadata);
    this.writeTokenizer(moduleDir);
    if (c.normalizePath !== undefined) mkdirSync(join(dir, c.normalizePath), { recursive: true });
    for (const [file, text] of Object.entries(this.source)) writeFileAtomic(join(dir, file), text + '\n');
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  }

  private writeTokenizer(dir: string): void {
    writeFileAtomic(join(dir, 'tokenizer.json'), this.tokenizer.json);
    if (this.tokenizer.configJson !== undefined) writeFileAtomic(join(dir, 'tokenizer_config.json'), this.tokenizer.configJson);
  }
}

// Folders without our config.json: a sentence-transformers one (modules.json) or a Model2Vec one.
Encoder.registerFolder((dir, config) => {
  if (config && config.model_type === 'model2vec') return StaticEncoder.fromModel2Vec(dir);
  if (existsSync(join(dir, 'modules.json')) && statSync(join(dir, 'modules.json')).isFile())
    return StaticEncoder.fromSentenceTransformers(dir);
  return undefined;
});

Encoder.register('static', (dir, config, configFile) => {
  const c = config as StaticConfig;
  if (c.format === 'model2vec') return StaticEncoder.fromModel2Vec(dir);
  if (c.format === 'sentence-transformers') return StaticEncoder.fromSentenceTransformers(dir);
  throw invalidFile(configFile, `"format" must be "model2vec" or "sentence-transformers", got ${JSON.stringify(c.format)}`);
});
