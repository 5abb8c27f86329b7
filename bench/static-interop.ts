// `node dist/bench/static-interop.js [--out DIR]`: folders we save, for Python's own libraries to load
// (bench/static-interop.py checks their embeddings against ours). Makes a Model2Vec model (WordPiece)
// and a sentence-transformers one (Unigram, with Normalize) from the test fixtures' tokenizers and
// seeded tables, fine-tunes each a few steps with our trainer (so the check covers what `train --init`
// writes), saves them back in their formats, and writes our embeddings of a few texts beside them
// (DIR/interop.json). Runs on the lent GPU machine's second call (bench/gpu-second.sh), which has
// Python's sentence-transformers; anywhere else that has model2vec or sentence-transformers too.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Encoder } from '../lib/encoder/registry.js';
import { writeSafetensors } from '../lib/io/safetensors.js';
import { packageRoot } from '../lib/native.js';
import { train } from '../lib/train/trainer.js';
import { gaussianMatrix } from './random.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: '/tmp/infonce-static-interop' } } });
const out = values.out!;
const DIM = 16;
const TEXTS = ['Split an arrays!', 'sorted list', 'the list', 'an array split', 'xyz'];
const fixture = (name: string) => join(packageRoot(), 'test', 'fixtures', 'tokenizers', `${name}.json`);

function source(format: 'model2vec' | 'sentence-transformers', tokenizer: string, rows: number): string {
  const dir = join(out, `${format}-source`);
  const moduleDir = format === 'model2vec' ? dir : join(dir, '0_StaticEmbedding');
  mkdirSync(moduleDir, { recursive: true });
  cpSync(fixture(tokenizer), join(moduleDir, 'tokenizer.json'));
  const table = gaussianMatrix(rows, DIM, 12345);
  const name = format === 'model2vec' ? 'embeddings' : 'embedding.weight';
  writeSafetensors(join(moduleDir, 'model.safetensors'), { [name]: { dtype: 'F32', shape: [rows, DIM], data: table } });
  if (format === 'model2vec') writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'model2vec', hidden_dim: DIM, normalize: true }));
  else {
    const modules = [
      { idx: 0, name: '0', path: '0_StaticEmbedding', type: 'sentence_transformers.models.StaticEmbedding' },
      { idx: 1, name: '1', path: '1_Normalize', type: 'sentence_transformers.models.Normalize' },
    ];
    mkdirSync(join(dir, '1_Normalize'), { recursive: true });
    writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  }
  return dir;
}

async function main() {
  const words = ['split', 'an', 'array', 'the', 'list', 'sort', 'sorted', 'arrays'];
  const pairs = Array.from({ length: 32 }, (_, i) => ({ query: `${words[i % 8]} ${words[(i * 3) % 8]}`, positive: `${words[i % 8]} the ${words[(i * 5 + 1) % 8]}` }));
  const record: Array<{ format: string; dir: string; texts: string[]; embeddings: number[][] }> = [];
  for (const [format, tokenizer, rows] of [['model2vec', 'wordpiece', 13], ['sentence-transformers', 'unigram', 15]] as const) {
    const initial = await Encoder.load(source(format, tokenizer, rows));
    const runDir = join(out, `${format}-run`);
    const { encoder } = await train({ pairs, out: runDir, steps: 4, batchSize: 16, learningRate: 0.05, initialEncoder: initial, overwrite: true });
    const vectors = await encoder.embed(TEXTS);
    record.push({ format, dir: join(runDir, 'model'), texts: TEXTS, embeddings: TEXTS.map((_, t) => Array.from(vectors.subarray(t * DIM, (t + 1) * DIM))) });
    console.log(`${format}: saved ${join(runDir, 'model')}`);
  }
  writeFileSync(join(out, 'interop.json'), JSON.stringify(record, null, 1));
  console.log(`our embeddings: ${join(out, 'interop.json')}; check them with python3 bench/static-interop.py ${join(out, 'interop.json')}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
