// The lexical baseline: Okapi BM25 over an inverted index in typed arrays, with Anserini's (and so
// Pyserini's) default parameters k1 = 0.9, b = 0.4, and a plain lower-case, split-on-non-alphanumerics
// tokeniser for documents and queries; with `identifiers` (what `eval` and `search --hybrid` use),
// compound identifiers (snake_case, camelCase, dotted paths) also give their words, as a code-search
// baseline splits them. bench/bm25-parameters.ts measures these choices on the suite. The scoring formula is wink-bm25-text-search's, which this
// replaced (its idf ln(1 + (N − n + ½)/(n + ½)), a query word counted as often as it occurs; a test
// checks both on one corpus), without its 4-decimal rounding of the term weights and ~100× faster: a
// query adds up the precomputed weights of its words' postings into one score array and keeps the top
// k in a heap, instead of building and sorting a table of every matching document.
import { splitIdentifiers } from '../encoder/identifiers.js';

export interface Bm25Parameters {
  /** Term-frequency saturation. Default 0.9 (Anserini's). */
  k1?: number;
  /** Length normalisation. Default 0.4 (Anserini's). */
  b?: number;
  /**
   * Also index the words of compound identifiers (`inv_matrix` gives `inv_matrix`, `inv`, `matrix`;
   * `parseHTTPResponse` gives `parse`, `http`, `response` too), in documents and queries. Default false
   * (the textbook tokeniser); `eval` and `search --hybrid` turn it on (EVAL_BM25).
   */
  identifiers?: boolean;
}

/** Anserini's defaults (Lin et al., "Anserini", SIGIR 2017; Pyserini's LuceneSearcher). */
export const BM25_DEFAULTS = { k1: 0.9, b: 0.4 } as const;
/**
 * The BM25 of `eval`, `search --hybrid` and the demo: the defaults with identifiers split, on text and
 * code alike (on the suite it gains 0.18 MRR on code search and 0.009 nDCG@10 on SpamAssassin, whose
 * bodies hold URLs and names, and changes nothing on WordNet: bench/results/bm25-parameters.md).
 */
export const EVAL_BM25: Bm25Parameters = { identifiers: true };

export interface Bm25Hits {
  /** Document ids, best first (only documents sharing a word with the query; ties by id). */
  ids: Int32Array;
  scores: Float64Array;
}

/** A text's BM25 terms: its lower-cased words, then (with `identifiers`) its identifiers' words. */
export const bm25Words = (text: string, identifiers = false): string[] => {
  const words = text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean);
  return identifiers ? [...words, ...splitIdentifiers(text)] : words;
};

export class Bm25Index {
  readonly documents: number;
  private readonly termIds = new Map<string, number>();
  /** Postings of term t: documents[offsets[t] .. offsets[t + 1]) with their weights (CSR). */
  private readonly offsets: Int32Array;
  private readonly postings: Int32Array;
  private readonly weights: Float32Array;
  private readonly scores: Float64Array;
  private readonly touched: Int32Array;
  private readonly identifiers: boolean;

  constructor(documents: readonly string[], parameters: Bm25Parameters = {}) {
    const k1 = parameters.k1 ?? BM25_DEFAULTS.k1;
    const b = parameters.b ?? BM25_DEFAULTS.b;
    if (!(k1 >= 0) || !Number.isFinite(k1)) throw new RangeError(`k1: expected a finite number ≥ 0, got ${k1}`);
    if (!(b >= 0 && b <= 1)) throw new RangeError(`b: expected a number in [0, 1], got ${b}`);
    this.identifiers = parameters.identifiers ?? false;
    this.documents = documents.length;
    // Each document's distinct terms and their frequencies, appended to flat arrays.
    let terms = new Int32Array(1 << 16);
    let counts = new Int32Array(1 << 16);
    let used = 0;
    const docStart = new Int32Array(documents.length + 1);
    const lengths = new Float64Array(documents.length);
    const frequency = new Map<number, number>();
    documents.forEach((text, d) => {
      const words = bm25Words(text, this.identifiers);
      lengths[d] = words.length;
      frequency.clear();
      for (const word of words) {
        let id = this.termIds.get(word);
        if (id === undefined) this.termIds.set(word, (id = this.termIds.size));
        frequency.set(id, (frequency.get(id) ?? 0) + 1);
      }
      if (used + frequency.size > terms.length) {
        const grow = (a: Int32Array) => {
          const bigger = new Int32Array(Math.max(2 * a.length, used + frequency.size));
          bigger.set(a);
          return bigger;
        };
        terms = grow(terms);
        counts = grow(counts);
      }
      for (const [id, count] of frequency) {
        terms[used] = id;
        counts[used++] = count;
      }
      docStart[d + 1] = used;
    });
    const vocabulary = this.termIds.size;
    const documentFrequency = new Int32Array(vocabulary);
    for (let e = 0; e < used; e++) documentFrequency[terms[e]!]!++;
    this.offsets = new Int32Array(vocabulary + 1);
    for (let t = 0; t < vocabulary; t++) this.offsets[t + 1] = this.offsets[t]! + documentFrequency[t]!;
    this.postings = new Int32Array(used);
    this.weights = new Float32Array(used);
    const N = documents.length;
    const averageLength = lengths.reduce((a, v) => a + v, 0) / Math.max(1, N);
    const idf = Float64Array.from(documentFrequency, (n) => Math.log((N - n + 0.5) / (n + 0.5) + 1));
    const fill = this.offsets.slice(0, vocabulary);
    for (let d = 0; d < N; d++) {
      const norm = k1 * (1 - b + (b * lengths[d]!) / (averageLength || 1));
      for (let e = docStart[d]!; e < docStart[d + 1]!; e++) {
        const t = terms[e]!;
        const tf = counts[e]!;
        const slot = fill[t]!++;
        this.postings[slot] = d; // documents in increasing order within each term
        this.weights[slot] = (idf[t]! * tf * (k1 + 1)) / (tf + norm);
      }
    }
    this.scores = new Float64Array(N);
    this.touched = new Int32Array(N);
  }

  /** The k best documents for a query (fewer when fewer share a word with it). */
  search(query: string, k: number): Bm25Hits {
    let touchedCount = 0;
    const { scores, touched } = this;
    for (const word of bm25Words(query, this.identifiers)) {
      const t = this.termIds.get(word);
      if (t === undefined) continue;
      for (let e = this.offsets[t]!; e < this.offsets[t + 1]!; e++) {
        const d = this.postings[e]!;
        if (scores[d] === 0) touched[touchedCount++] = d;
        scores[d] += this.weights[e]!;
      }
    }
    // Every weight is > 0 (idf = ln(1 + ...) > 0 even for a word in every document), so a score of 0
    // means untouched: the array is all zeros again once the touched entries are reset.
    const best = topK(scores, touched, touchedCount, k);
    for (let i = 0; i < touchedCount; i++) scores[touched[i]!] = 0;
    return best;
  }

  /** Document ids, best first (only documents sharing a word with the query). */
  rank(query: string, k: number): number[] {
    return Array.from(this.search(query, k).ids);
  }
}

// better(a, b): a ranks above b (higher score, then lower id).
const better = (scores: Float64Array, a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b);

// The k best of the candidates by a bounded min-heap (the worst kept at the root), then sorted.
function topK(scores: Float64Array, candidates: Int32Array, count: number, k: number): Bm25Hits {
  const size = Math.min(k, count);
  const heap = new Int32Array(size);
  let n = 0;
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < n && better(scores, heap[worst]!, heap[l]!)) worst = l;
      if (r < n && better(scores, heap[worst]!, heap[r]!)) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
      i = worst;
    }
  };
  for (let c = 0; c < count; c++) {
    const d = candidates[c]!;
    if (n < size) {
      heap[n] = d;
      for (let i = n++; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!better(scores, heap[parent]!, heap[i]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (size > 0 && better(scores, d, heap[0]!)) {
      heap[0] = d;
      siftDown(0);
    }
  }
  const ids = Int32Array.from(heap).sort((a, b) => (better(scores, a, b) ? -1 : better(scores, b, a) ? 1 : 0));
  return { ids, scores: Float64Array.from(ids, (d) => scores[d]!) };
}
