// Pairs from a user's unlabelled documents: the cpt paper's unsupervised setting, in-domain. From
// each document, whichever of these it has:
//   - title → body (a BEIR corpus.jsonl's "title" and "text");
//   - a span → the rest of its document (the inverse cloze task: a sentence or two taken out, the
//     document without them as the positive), one per document, at a seeded place;
//   - neighbouring passages (textPairs' pairs).
// Every pair carries its document's id as `group`, so the trainer never makes two pairs of one
// document each other's negatives.
import { generator } from '../util/random.js';
import type { Pair } from './pair.js';
import { passages } from './text.js';
import { sentences as sentencesOf, wordCount as words } from './words.js';

export interface CorpusDocument {
  id: string;
  title?: string;
  text: string;
}

export interface CorpusPairOptions {
  /** Passages grow to at least this many words. Default 30. */
  minWords?: number;
  /** ...and are cut at a sentence end beyond this many. Default 120. */
  maxWords?: number;
  seed?: number;
}

export interface CorpusPairCounts {
  title: number;
  span: number;
  neighbours: number;
}

// . ! ? before a capital or a digit: the span's sentence boundaries.
const SENTENCE_END = /(?<=[.!?]["')\]]?)\s+(?=[A-Z0-9"'(\[])/;

// One or two sentences of the document (about a sixth of it, 8 to 60 words) and the document without them.
function spanAndRest(text: string, random: () => number): { span: string; rest: string } | undefined {
  const sentences = sentencesOf(text.replace(/\s+/g, ' ').trim(), SENTENCE_END);
  if (sentences.length < 3) return undefined;
  const first = Math.floor(random() * sentences.length);
  let last = first;
  while (last + 1 < sentences.length && words(sentences.slice(first, last + 1).join(' ')) < 8) last++;
  const span = sentences.slice(first, last + 1).join(' ');
  const rest = [...sentences.slice(0, first), ...sentences.slice(last + 1)].join(' ');
  const spanWords = words(span);
  if (spanWords < 4 || spanWords > 60 || words(rest) < 2 * spanWords) return undefined;
  return { span, rest };
}

/** The pairs of a corpus and how many came from each kind. Duplicates and identical sides are dropped. */
export function corpusPairs(documents: readonly CorpusDocument[], options: CorpusPairOptions = {}): { pairs: Pair[]; counts: CorpusPairCounts } {
  const random = generator(options.seed ?? 1);
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  const counts: CorpusPairCounts = { title: 0, span: 0, neighbours: 0 };
  const add = (kind: keyof CorpusPairCounts, query: string, positive: string, group: string) => {
    const key = `${query}\u0000${positive}`;
    if (query.trim() === '' || positive.trim() === '' || query === positive || seen.has(key)) return;
    seen.add(key);
    pairs.push({ query, positive, group });
    counts[kind]++;
  };
  for (const doc of documents) {
    const text = doc.text.trim();
    if (doc.title && doc.title.trim() !== '' && text !== '') add('title', doc.title.trim(), text, doc.id);
    const cloze = spanAndRest(text, random);
    if (cloze) add('span', cloze.span, cloze.rest, doc.id);
    const parts = passages(text, { minWords: options.minWords ?? 30, maxWords: options.maxWords ?? 120 });
    for (let k = 0; k + 1 < parts.length; k++) add('neighbours', parts[k]!, parts[k + 1]!, doc.id);
  }
  return { pairs, counts };
}
