// Exact top-k cosine search over embeddings: native, streaming the corpus in tiles against blocks of
// queries with one bounded heap per query (never a queries × corpus matrix), on worker threads.
import { addon } from './native.js';
import { withCallerStack } from './util/call-site.js';

export interface SearchOptions {
  /** The embedding dimension (row length of queries and corpus). */
  dim: number;
  /**
   * Results per query. Default 10; at most the corpus size (the result's `k`). queries × k may be at
   * most 2²⁷ (134,217,728 results, 1 GiB): beyond, a RangeError (search the queries in parts).
   */
  k?: number;
  threads?: number;
}

export interface SearchResult {
  /** Results per query: the `k` asked for, clamped to the corpus size (at least 1). The stride of both arrays. */
  k: number;
  /** queries × k corpus row indices, best first; -1 only where the corpus is empty. */
  indices: Int32Array;
  /** The cosine similarities, in the same places. */
  scores: Float32Array;
}

export function search(queries: Float32Array, corpus: Float32Array, options: SearchOptions): Promise<SearchResult> {
  try {
    return withCallerStack(addon.topK(queries, corpus, { dim: options.dim, k: options.k ?? 10, ...(options.threads ? { threads: options.threads } : {}) }), search);
  } catch (error) {
    return Promise.reject(error);
  }
}
