// Text to token ids: OpenAI's cl100k_base BPE (gpt-tokenizer ships its vocabulary: nothing is
// downloaded), the same for text and code. As in the cpt paper, the two sides of a pair are marked
// differently: a query starts with one extra id and a document with another, which the encoder
// learns like any token.
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';

export type Side = 'query' | 'document';

/** Ids 0..100276 are cl100k_base's (its special tokens included); the side markers come after. */
export const CL100K_IDS = 100277;
export const SIDE_MARKERS: Record<Side, number> = { query: CL100K_IDS, document: CL100K_IDS + 1 };
export const TOKENIZER_VOCABULARY = CL100K_IDS + 2;

/** Beyond this many characters a text is refused rather than tokenised (a file passed by mistake). */
export const MAX_TEXT_CHARACTERS = 1_000_000;

export interface TokenBatch {
  ids: Int32Array;
  /** Text t's ids are ids[offsets[t] .. offsets[t+1]). */
  offsets: Int32Array;
}

/**
 * Tokenises texts for one side: the side's marker, then at most `maxTokens` − 1 ids of the text
 * (longer texts are truncated, as every embedding model does). Empty or whitespace-only texts and
 * texts over MAX_TEXT_CHARACTERS are refused with a RangeError naming their index.
 */
export function tokenize(texts: readonly string[], side: Side, maxTokens: number, name = 'texts'): TokenBatch {
  const offsets = new Int32Array(texts.length + 1);
  const pieces: number[][] = [];
  let total = 0;
  texts.forEach((text, t) => {
    if (typeof text !== 'string') throw new TypeError(`${name}[${t}]: expected a string, got ${typeof text}`);
    if (text.trim() === '') throw new RangeError(`${name}[${t}]: expected a non-empty text, got ${JSON.stringify(text)}`);
    if (text.length > MAX_TEXT_CHARACTERS)
      throw new RangeError(`${name}[${t}]: expected at most ${MAX_TEXT_CHARACTERS} characters, got ${text.length}`);
    const ids = encode(text.length > maxTokens * 16 ? text.slice(0, maxTokens * 16) : text).slice(0, maxTokens - 1);
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
