// Neighbouring-text pairs, the cpt paper's unsupervised data for text: a document is cut into
// passages of a few sentences, and each passage is paired with the next one.
import type { Pair } from './pair.js';
import { sentences as sentencesOf, wordCount } from './words.js';

export interface TextPairOptions {
  /** Passages grow to at least this many words (merging paragraphs). Default 30. */
  minWords?: number;
  /** ...and are cut at a sentence end beyond this many. Default 120. */
  maxWords?: number;
}

// . ! ? (and a closing quote or bracket) before a capital: where a long paragraph is cut.
const SENTENCE_END = /(?<=[.!?]["')\]]?)\s+(?=[A-Z"'(\[])/;

/** A document's passages: paragraphs merged up to minWords, long ones cut at sentence ends. */
export function passages(document: string, options: TextPairOptions = {}): string[] {
  const minWords = options.minWords ?? 30;
  const maxWords = options.maxWords ?? 120;
  const paragraphs = document
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  const sentences = paragraphs.flatMap((p) => (wordCount(p) > maxWords ? sentencesOf(p, SENTENCE_END) : [p]));
  const out: string[] = [];
  let current = '';
  for (const piece of sentences) {
    current = current ? `${current} ${piece}` : piece;
    if (wordCount(current) >= minWords) {
      out.push(current);
      current = '';
    }
  }
  if (current && wordCount(current) >= Math.ceil(minWords / 2)) out.push(current);
  return out;
}

/** Pairs (passage k, passage k+1) of each document; duplicates and identical sides dropped. */
export function textPairs(documents: readonly string[], options: TextPairOptions = {}): Pair[] {
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  for (const document of documents) {
    const parts = passages(document, options);
    for (let k = 0; k + 1 < parts.length; k++) {
      const query = parts[k]!;
      const positive = parts[k + 1]!;
      if (query === positive) continue;
      const key = `${query}\u0000${positive}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push({ query, positive });
    }
  }
  return pairs;
}
