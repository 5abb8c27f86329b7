// `infonce search`: the corpus texts closest to a query.
import type { Command } from 'commander';

import { Encoder } from '../encoder/encoders.js';
import { search } from '../search.js';
import { corpusFormat, readCorpus } from './io.js';
import { positiveInteger } from './options.js';

export function addSearchCommand(program: Command): void {
  program
    .command('search')
    .description('the corpus texts closest to a query, by cosine similarity of their embeddings')
    .requiredOption('--model <dir>', 'a model folder (required)')
    .requiredOption('--corpus <file>', 'one text a line, or JSON Lines with a "text" field (see --format) (required)')
    .requiredOption('--query <text>', 'the query (required)')
    .option('--format <format>', "the corpus: 'lines' or 'jsonl' (default: jsonl for .jsonl/.ndjson/.json files, else lines)")
    .option('--k <n>', 'results', positiveInteger('--k'), 10)
    .addHelpText('after', '\nExample:\n  infonce search --model run/model --corpus notes.txt --query "how do I split an array" --k 5')
    .action(async (o) => {
      const format = corpusFormat(o.corpus, o.format);
      const encoder = await Encoder.load(o.model);
      const corpus = readCorpus(o.corpus, format);
      const [query, documents] = await Promise.all([encoder.embed([o.query], { side: 'query' }), encoder.embed(corpus)]);
      const { indices, scores } = await search(query, documents, { dim: encoder.dim, k: o.k });
      indices.forEach((index, r) => {
        if (index >= 0) console.log(`${(r + 1).toString().padStart(3)}  ${scores[r]!.toFixed(4)}  ${corpus[index]!.slice(0, 160).replace(/\s+/g, ' ')}`);
      });
    });
}
