// `infonce search`: the corpus texts closest to a query, by the model, or by the model and BM25 fused.
import { InvalidArgumentError, type Command } from 'commander';

import { Encoder } from '../encoder/registry.js';
import { Bm25Index, EVAL_BM25 } from '../eval/bm25.js';
import { DEFAULT_HYBRID_WEIGHT, fuseRankings } from '../eval/hybrid.js';
import { search } from '../search.js';
import { corpusFormat, readCorpus } from './io.js';
import { positiveInteger } from './options.js';

function weightOption(text: string): number {
  const w = Number(text);
  if (!(w >= 0 && w <= 1)) throw new InvalidArgumentError(`--weight takes a number in [0, 1], got '${text}'`);
  return w;
}

export function addSearchCommand(program: Command): void {
  program
    .command('search')
    .description('the corpus texts closest to a query, by cosine similarity of their embeddings')
    .requiredOption('--model <dir>', 'a model folder (required)')
    .requiredOption('--corpus <file>', 'one text a line, or JSON Lines with a "text" field (see --format) (required)')
    .requiredOption('--query <text>', 'the query (required)')
    .option('--format <format>', "the corpus: 'lines' or 'jsonl' (default: jsonl for .jsonl/.ndjson/.json files, else lines)")
    .option('--k <n>', 'results', positiveInteger('--k'), 10)
    .option('--dim <n>', "rank by the first n coordinates, normalised (a model trained with --matryoshka); default: the model's dim", positiveInteger('--dim'))
    .option('--hybrid', "fuse the model's ranking with BM25's (reciprocal-rank fusion); the score shown is the fused one")
    .option('--weight <w>', "with --hybrid: the dense ranking's weight in [0, 1] (1: the model alone, 0: BM25 alone; choose it with `infonce eval --hybrid` on your own queries)", weightOption, DEFAULT_HYBRID_WEIGHT)
    .addHelpText(
      'after',
      '\nExamples:\n  infonce search --model run/model --corpus notes.txt --query "how do I split an array" --k 5\n' +
        '  infonce search --model run/model --corpus notes.txt --query "inv_matrix" --hybrid --weight 0.6',
    )
    .action(async (o) => {
      const format = corpusFormat(o.corpus, o.format);
      const encoder = await Encoder.load(o.model);
      if (o.dim !== undefined && o.dim > encoder.dim) throw new InvalidArgumentError(`--dim: the model has ${encoder.dim} dimensions, got ${o.dim}`);
      const dim: number = o.dim ?? encoder.dim;
      const corpus = await readCorpus(o.corpus, format);
      const [query, documents] = await Promise.all([encoder.embed([o.query], { side: 'query', dim }), encoder.embed(corpus, { dim })]);
      const show = (r: number, index: number, score: number) =>
        console.log(`${(r + 1).toString().padStart(3)}  ${score.toFixed(4)}  ${corpus[index]!.slice(0, 160).replace(/\s+/g, ' ')}`);
      if (o.hybrid) {
        // Each side's top 100 (at least k), fused: a document either side ranks that deep counts.
        const depth = Math.max(o.k, 100);
        const dense = await search(query, documents, { dim, k: depth });
        const lexical = new Bm25Index(corpus, EVAL_BM25).search(o.query, depth).ids;
        fuseRankings(dense.indices.filter((i) => i >= 0), lexical, o.weight, o.k).forEach((hit, r) => show(r, hit.id, hit.score));
        return;
      }
      const { indices, scores } = await search(query, documents, { dim, k: o.k });
      indices.forEach((index, r) => {
        if (index >= 0) show(r, index, scores[r]!);
      });
    });
}
