// The lexical baseline: Okapi BM25 (k1 = 1.2, b = 0.75) over an inverted index in typed arrays, with a
// plain lower-case, split-on-non-alphanumerics tokeniser for documents and queries. The scores are
// those of wink-bm25-text-search, which this replaced (its idf ln(1 + (N − n + ½)/(n + ½)), a query
// word counted as often as it occurs; a test checks both on one corpus), without its 4-decimal
// rounding of the term weights and ~100× faster: a query adds up the precomputed weights of its
// words' postings into one score array and keeps the top k in a heap, instead of building and
// sorting a table of every matching document.

export interface Bm25Parameters {
  /** Term-frequency saturation. Default 1.2. */
  k1?: number;
  /** Length normalisation. Default 0.75. */
  b?: number;
}

export interface Bm25Hits {
  /** Document ids, best first (only documents sharing a word with the query; ties by id). */
  ids: Int32Array;
  scores: Float64Array;
}

export const bm25Words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean);

export class Bm25Index {
  readonly documents: number;
  private readonly termIds = new Map<string, number>();
  /** Postings of term t: documents[offsets[t] .. offsets[t + 1]) with their weights (CSR). */
  private readonly offsets: Int32Array;
  private readonly postings: Int32Array;
  private readonly weights: Float32Array;
  private readonly scores: Float64Array;
  private readonly touched: Int32Array;

  constructor(documents: readonly string[], parameters: Bm25Parameters = {}) {
    const k1 = parameters.k1 ?? 1.2;
    const b = parameters.b ?? 0.75;
    this.documents = documents.length;
    // Each document's distinct terms and their frequencies, appended to flat arrays.
    let terms = new Int32Array(1 << 16);
    let counts = new Int32Array(1 << 16);
    let used = 0;
    const docStart = new Int32Array(documents.length + 1);
    const lengths = new Float64Array(documents.length);
    const frequency = new Map<number, number>();
    documents.forEach((text, d) => {
      const words = bm25Words(text);
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
    for (const word of bm25Words(query)) {
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
