// Text to token ids: OpenAI's cl100k_base BPE (gpt-tokenizer ships its vocabulary: nothing is
// downloaded), the same for text and code. As in the cpt paper, the two sides of a pair are marked
// differently: a query starts with one extra id and a document with another, which the encoder
// learns like any token.
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';

import { invalidType, outOfRange } from '../util/errors.js';
import { splitIdentifiers } from './identifiers.js';

export type Side = 'query' | 'document';

/** Ids 0..100276 are cl100k_base's (its special tokens included); the side markers come after. */
export const CL100K_IDS = 100277;
export const SIDE_MARKERS: Record<Side, number> = { query: CL100K_IDS, document: CL100K_IDS + 1 };
export const TOKENIZER_VOCABULARY = CL100K_IDS + 2;

// User text is text: a string such as "<|endoftext|>" is encoded as the characters it is made of,
// never as cl100k_base's special token (gpt-tokenizer refuses it unless told so).
const NO_SPECIAL_TOKENS = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

export interface TokenBatch {
  ids: Int32Array;
  /** Text t's ids are ids[offsets[t] .. offsets[t+1]). */
  offsets: Int32Array;
}

export interface TokenizeOptions {
  /**
   * 'split': after the text's own tokens, the tokens of its compound identifiers' words (inv_matrix
   * → " inv matrix"), at most maxTokens / 4 more. 'none' (models made before 0.2): the text alone.
   */
  identifiers?: 'split' | 'none';
}

/**
 * Tokenises texts for one side: the side's marker, then at most `maxTokens` − 1 ids of the text
 * (longer texts are truncated, as every embedding model does: only their first 16·maxTokens
 * characters are read, whatever their length), then (identifiers 'split') its identifiers' words.
 * Special-token strings are encoded as plain text. Empty or whitespace-only texts are refused with
 * a RangeError naming their index.
 */
export function tokenize(texts: readonly string[], side: Side, maxTokens: number, name = 'texts', options: TokenizeOptions = {}): TokenBatch {
  if (!Array.isArray(texts)) throw invalidType(`${name}: expected an array of strings, got ${texts === null ? 'null' : typeof texts}`);
  if (side !== 'query' && side !== 'document') throw outOfRange(`side: expected 'query' or 'document', got ${JSON.stringify(side)}`);
  const offsets = new Int32Array(texts.length + 1);
  const pieces: number[][] = [];
  let total = 0;
  texts.forEach((text, t) => {
    if (typeof text !== 'string') throw invalidType(`${name}[${t}]: expected a string, got ${typeof text}`);
    if (text.trim() === '') throw outOfRange(`${name}[${t}]: expected a non-empty text, got ${JSON.stringify(text)}`);
    const read = text.length > maxTokens * 16 ? text.slice(0, maxTokens * 16) : text;
    let ids = encode(read, NO_SPECIAL_TOKENS).slice(0, maxTokens - 1);
    if (options.identifiers === 'split') {
      const words = splitIdentifiers(read);
      // As words in prose: each with its leading space, the form cl100k_base has one token for.
      if (words.length > 0) ids = ids.concat(encode(' ' + words.join(' '), NO_SPECIAL_TOKENS).slice(0, maxTokens >> 2));
    }
    pieces.push(ids);
    total += ids.length + 1;
    offsets[t + 1] = total;
  });
  const ids = new Int32Array(total);
  pieces.forEach((piece, t) => {
    ids[offsets[t]!] = SIDE_MARKERS[side];
    ids.set(piece, offsets[t]! + 1);
  });
  return { ids, offsets };
}

/** The text of one token id (for initialising its row from word vectors); '' for ids with none. */
export function tokenText(id: number): string {
  try {
    return id < CL100K_IDS ? decode([id]) : '';
  } catch {
    return ''; // the gaps between cl100k's ordinary and special ids decode to nothing
  }
}
