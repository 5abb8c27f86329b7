// `infonce embed`: embeddings of texts (one a line) with a trained model, as JSON Lines or raw float32.
import { writeFileSync } from 'node:fs';

import { InvalidArgumentError, type Command } from 'commander';

import { Encoder } from '../encoder/registry.js';
import { readLines, say } from './io.js';

export function addEmbedCommand(program: Command): void {
  program
    .command('embed')
    .description('embed texts (one per line, from --input or stdin) with a trained model')
    .requiredOption('--model <dir>', 'a model folder (out/model of `infonce train`) (required)')
    .option('--input <file>', 'texts, one per line (default: stdin)')
    .option('--side <side>', "'query' or 'document'", 'document')
    .option('--format <format>', "'jsonl' ({text, embedding} a line) or 'f32' (raw little-endian float32, n × dim)", 'jsonl')
    .option('--out <file>', 'write here (default: stdout)')
    .addHelpText('after', '\nExample:\n  echo "split an array" | infonce embed --model run/model --side query')
    .action(async (o) => {
      if (o.side !== 'query' && o.side !== 'document') throw new InvalidArgumentError(`--side takes query or document, got '${o.side}'`);
      if (o.format !== 'jsonl' && o.format !== 'f32') throw new InvalidArgumentError(`--format takes jsonl or f32, got '${o.format}'`);
      const encoder = await Encoder.load(o.model);
      const texts = await readLines(o.input);
      const vectors = await encoder.embed(texts, { side: o.side });
      const data =
        o.format === 'f32'
          ? Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)
          : texts.map((text, i) => JSON.stringify({ text, embedding: Array.from(vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim)) }) + '\n').join('');
      if (o.out) writeFileSync(o.out, data);
      else process.stdout.write(data);
      say(`${texts.length} texts embedded (${encoder.dim} dimensions)`);
    });
}
