// A Hugging Face tokenizer.json (WordPiece, BPE, Unigram, WordLevel) through @huggingface/tokenizers,
// the maintained JavaScript implementation of the `tokenizers` library's format: what the static
// models of Model2Vec and sentence-transformers tokenise with. Never written by hand here.
import { existsSync } from 'node:fs';

import { Tokenizer } from '@huggingface/tokenizers';

import { parseJson, readJsonText } from '../io/json-file.js';
import { invalidFile } from '../util/errors.js';

const MODELS = ['WordPiece', 'BPE', 'Unigram', 'WordLevel'];

export interface HfTokenizer {
  /** The tokenizer.json's text, kept to be written back unchanged. */
  json: string;
  /** The tokenizer_config.json's text, when the folder has one. */
  configJson?: string;
  /** Token ids of `text` without special tokens (what both static formats embed). */
  encode(text: string): number[];
  /** The size of the vocabulary: one past the largest id. */
  vocabulary: number;
  /** The id of the unknown token of a WordPiece, BPE or WordLevel model (Model2Vec drops it), if any. */
  unknownId?: number;
  /** The median length of the vocabulary's tokens in characters (Model2Vec truncates texts by it). */
  medianTokenLength: number;
}

/** The tokenizer of `file` (and `configFile`, tokenizer_config.json, when it exists). */
export function loadHfTokenizer(file: string, configFile?: string): HfTokenizer {
  const json = readJsonText(file);
  const spec = parseJson(file, json);
  if (Array.isArray(spec)) throw invalidFile(file, 'expected a JSON object (a Hugging Face tokenizer.json), got a list');
  const model = spec.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') throw invalidFile(file, 'has no "model" object (expected a Hugging Face tokenizer.json)');
  if (!MODELS.includes(String(model.type)))
    throw invalidFile(file, `"model.type" is ${JSON.stringify(model.type)}; this version reads ${MODELS.join(', ')}`);
  // The vocabulary's tokens and ids: an object token → id (WordPiece, BPE, WordLevel) or a list of
  // [token, score] pairs whose index is the id (Unigram).
  const tokens: string[] = [];
  if (model.type === 'Unigram') {
    if (!Array.isArray(model.vocab)) throw invalidFile(file, '"model.vocab" of a Unigram model must be a list of [token, score]');
    for (const entry of model.vocab as unknown[]) tokens.push(String(Array.isArray(entry) ? entry[0] : ''));
  } else {
    if (typeof model.vocab !== 'object' || model.vocab === null) throw invalidFile(file, '"model.vocab" must be an object of token → id');
    for (const [token, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0) throw invalidFile(file, `"model.vocab" gives ${JSON.stringify(token)} the id ${JSON.stringify(id)}`);
      tokens[id as number] = token;
    }
  }
  let vocabulary = tokens.length;
  for (const added of (spec.added_tokens as Array<{ id?: unknown }> | undefined) ?? [])
    if (Number.isSafeInteger(added.id)) vocabulary = Math.max(vocabulary, (added.id as number) + 1);
  const unknownToken = model.type === 'Unigram' ? undefined : (model.unk_token as string | null | undefined);
  const vocab = model.vocab as Record<string, number>;
  const unknownId = typeof unknownToken === 'string' && Number.isSafeInteger(vocab[unknownToken]) ? vocab[unknownToken] : undefined;
  const lengths = tokens.filter((t) => t !== undefined).map((t) => [...t].length).sort((a, b) => a - b);
  const medianTokenLength = lengths.length ? Math.floor(lengths.length % 2 ? lengths[lengths.length >> 1]! : (lengths[(lengths.length >> 1) - 1]! + lengths[lengths.length >> 1]!) / 2) : 1;

  // tokenizer_config.json is optional: only its absence is, not a broken one.
  const configJson = configFile && existsSync(configFile) ? readJsonText(configFile) : undefined;
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(spec, configJson ? parseJson(configFile!, configJson) : {});
  } catch (error) {
    throw invalidFile(file, `could not be read as a tokenizer (${(error as Error).message})`);
  }
  return {
    json,
    ...(configJson !== undefined ? { configJson } : {}),
    vocabulary,
    ...(unknownId !== undefined ? { unknownId } : {}),
    medianTokenLength: Math.max(1, medianTokenLength),
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
  };
}
