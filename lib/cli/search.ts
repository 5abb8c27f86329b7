// `infonce search`: the corpus texts closest to a query.
import type { Command } from 'commander';

import { Encoder } from '../encoder/encoders.js';
import { search } from '../search.js';
import { readCorpus } from './io.js';
import { positiveInteger } from './options.js';

export function addSearchCommand(program: Command): void {
  program
    .command('search')
    .description('the corpus texts closest to a query, by cosine similarity of their embeddings')
    .requiredOption('--model <dir>', 'a model folder')
    .requiredOption('--corpus <file>', 'one text a line, or JSON Lines with a "text" field')
    .requiredOption('--query <text>', 'the query')
    .option('--k <n>', 'results', positiveInteger('--k'), 10)
    .action(async (o) => {
      const encoder = await Encoder.load(o.model);
      const corpus = readCorpus(o.corpus);
      const [query, documents] = await Promise.all([encoder.embed([o.query], { side: 'query' }), encoder.embed(corpus)]);
      const { indices, scores } = await search(query, documents, { dim: encoder.dim, k: o.k });
      indices.forEach((index, r) => {
        if (index >= 0) console.log(`${(r + 1).toString().padStart(3)}  ${scores[r]!.toFixed(4)}  ${corpus[index]!.slice(0, 160).replace(/\s+/g, ' ')}`);
      });
    });
}
