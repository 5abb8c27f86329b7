// `infonce embed`: embeddings of texts (one a line) with a trained model, as JSON Lines or raw float32.
import { writeFileSync } from 'node:fs';

import { InvalidArgumentError, type Command } from 'commander';

import { Encoder } from '../encoder/registry.js';
import { readLines, say } from './io.js';
import { positiveInteger } from './options.js';

export function addEmbedCommand(program: Command): void {
  program
    .command('embed')
    .description('embed texts (one per line, from --input or stdin) with a trained model')
    .requiredOption('--model <dir>', 'a model folder (out/model of `infonce train`) (required)')
    .option('--input <file>', 'texts, one per line (default: stdin)')
    .option('--side <side>', "'query' or 'document'", 'document')
    .option('--format <format>', "'jsonl' ({text, embedding} a line) or 'f32' (raw little-endian float32, n × dim)", 'jsonl')
    .option('--out <file>', 'write here (default: stdout)')
    .option('--dim <n>', "keep the first n coordinates, normalised (a model trained with --matryoshka); default: the model's dim", positiveInteger('--dim'))
    .addHelpText('after', '\nExample:\n  echo "split an array" | infonce embed --model run/model --side query')
    .action(async (o) => {
      if (o.side !== 'query' && o.side !== 'document') throw new InvalidArgumentError(`--side takes query or document, got '${o.side}'`);
      if (o.format !== 'jsonl' && o.format !== 'f32') throw new InvalidArgumentError(`--format takes jsonl or f32, got '${o.format}'`);
      const encoder = await Encoder.load(o.model);
      const texts = await readLines(o.input);
      if (o.dim !== undefined && o.dim > encoder.dim) throw new InvalidArgumentError(`--dim: the model has ${encoder.dim} dimensions, got ${o.dim}`);
      const dim: number = o.dim ?? encoder.dim;
      const vectors = await encoder.embed(texts, { side: o.side, dim });
      const data =
        o.format === 'f32'
          ? Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)
          : texts.map((text, i) => JSON.stringify({ text, embedding: Array.from(vectors.subarray(i * dim, (i + 1) * dim)) }) + '\n').join('');
      if (o.out) writeFileSync(o.out, data);
      else process.stdout.write(data);
      say(`${texts.length} texts embedded (${dim} dimensions${dim < encoder.dim ? ` of the model's ${encoder.dim}` : ''})`);
    });
}
