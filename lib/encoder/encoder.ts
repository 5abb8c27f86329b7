// The encoder interface the trainer and the search use, and loading a saved encoder. An encoder
// tokenises, runs forward and backward on a batch, and lists its parameters; the bag encoder
// (bag.ts) is the one this package trains, and a transformer could take its place without the
// trainer changing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { addon } from '../native.js';
import { invalidFile, invalidType, outOfRange } from '../util/errors.js';
import type { Side, TokenBatch } from './tokenizer.js';
import { NotRegularFile, readTextFile } from '../io/read-file.js';

/** What every encoder's config.json holds: its kind (the registry's key) and its output dimension. */
export interface EncoderConfig {
  kind: string;
  /** D: the embedding dimension. */
  dim: number;
}

/** Loads the encoder of one kind from its folder, `config` being its parsed config.json (unchecked). */
export type EncoderLoader = (dir: string, config: EncoderConfig, configFile: string) => Encoder | Promise<Encoder>;

// kind → loader. Each encoder registers itself where it is defined (bag.ts: 'bag'); registry.ts
// imports every built-in one, so that Encoder.load knows them all.
const loaders = new Map<string, EncoderLoader>();

/** Opens a folder of another library's format, or returns undefined when the folder is not one. */
export type FolderLoader = (dir: string, config: Record<string, unknown> | undefined) => Encoder | undefined | Promise<Encoder | undefined>;
const folderLoaders: FolderLoader[] = [];

/** A parameter tensor, row-major: `data.length / width` rows of `width` values. */
export interface Parameter {
  name: string;
  data: Float32Array;
  width: number;
}

/** A parameter's gradient: all of it (rows null), or only the listed rows (rows.length × width values). */
export interface Gradient {
  name: string;
  rows: Int32Array | null;
  grads: Float32Array;
}

export interface Forward {
  /** texts × dim, not normalised (the loss normalises, and differentiates through it). */
  out: Float32Array;
  /** Whatever backward needs again. */
  cache: unknown;
}

export abstract class Encoder {
  abstract readonly config: EncoderConfig;
  get dim(): number {
    return this.config.dim;
  }
  abstract tokenize(texts: readonly string[], side: Side): TokenBatch;
  abstract forward(batch: TokenBatch): Promise<Forward>;
  abstract backward(batch: TokenBatch, forward: Forward, gradOut: Float32Array): Promise<Gradient[]>;
  abstract parameters(): Parameter[];
  /** Writes config.json and model.safetensors into `dir` (atomically each). */
  abstract save(dir: string, metadata?: Record<string, string>): void;

  /**
   * Embeddings of `texts`, n × dim, each row L2-normalised. Queries and documents are marked
   * differently (as in training): embed queries with side 'query'. `dim` below the model's keeps the
   * first `dim` coordinates of each embedding and normalises them (the Matryoshka use of a model
   * trained with `matryoshka` prefixes): n × dim then.
   */
  async embed(texts: readonly string[], options: { side?: Side; batchSize?: number; dim?: number } = {}): Promise<Float32Array> {
    const side = options.side ?? 'document';
    const batchSize = options.batchSize ?? 4096;
    const dim = options.dim ?? this.dim;
    if (!Array.isArray(texts)) throw invalidType(`texts: expected an array of strings, got ${texts === null ? 'null' : typeof texts}`);
    if (side !== 'query' && side !== 'document') throw outOfRange(`side: expected 'query' or 'document', got ${JSON.stringify(side)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw outOfRange(`batchSize: expected a positive integer, got ${batchSize}`);
    if (!Number.isInteger(dim) || dim < 1 || dim > this.dim)
      throw outOfRange(`dim: expected an integer from 1 to the model's ${this.dim}, got ${dim}`);
    const out = new Float32Array(texts.length * dim);
    for (let start = 0; start < texts.length; start += batchSize) {
      const slice = texts.slice(start, start + batchSize);
      const forward = await this.forward(this.tokenize(slice, side));
      if (dim === this.dim) out.set(forward.out, start * dim);
      else for (let t = 0; t < slice.length; t++) out.set(forward.out.subarray(t * this.dim, t * this.dim + dim), (start + t) * dim);
    }
    addon.normalizeRows(out, dim);
    return out;
  }

  /** Makes `Encoder.load` open folders whose config.json says `kind`. */
  static register(kind: string, loader: EncoderLoader): void {
    loaders.set(kind, loader);
  }

  /** Makes `Encoder.load` also open folders of another library's format (no `kind` in a config.json of ours). */
  static registerFolder(loader: FolderLoader): void {
    folderLoaders.push(loader);
  }

  /**
   * An encoder saved by `save` (or by the trainer: a model folder or a checkpoint folder), or a
   * folder of a format another library writes that a registered folder loader knows (static.ts:
   * Model2Vec, sentence-transformers).
   */
  static async load(dir: string): Promise<Encoder> {
    const configFile = join(dir, 'config.json');
    let config: EncoderConfig | undefined;
    if (existsSync(configFile)) {
      try {
        config = JSON.parse(readTextFile(configFile)) as EncoderConfig;
      } catch (error) {
        if (error instanceof NotRegularFile) throw invalidFile(configFile, `${error.kind}, not a regular file`);
        throw invalidFile(configFile, `not JSON (${(error as Error).message})`);
      }
      if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidFile(configFile, 'expected a JSON object');
    }
    if (config?.kind === undefined)
      for (const folder of folderLoaders) {
        const encoder = await folder(dir, config as Record<string, unknown> | undefined);
        if (encoder) return encoder;
      }
    if (!config)
      throw new RangeError(
        `model: no config.json in ${dir} (expected a folder written by \`infonce train\` or Encoder.save, a Model2Vec folder, or a sentence-transformers folder with modules.json)`,
      );
    if (config.kind === undefined)
      throw invalidFile(
        configFile,
        `has no "kind" (infonce's models) and is not a Model2Vec config ("model_type": "model2vec", got ${JSON.stringify((config as unknown as Record<string, unknown>).model_type)}), and the folder has no modules.json (sentence-transformers)`,
      );
    const loader = loaders.get(config.kind);
    if (!loader)
      throw invalidFile(configFile, `describes an encoder of kind '${String(config.kind)}'; this version knows ${[...loaders.keys()].map((k) => `'${k}'`).join(', ')}`);
    return loader(dir, config, configFile);
  }
}
