// What the asynchronous loss's input copy costs in memory: the peak RSS of one call over the RSS at
// the call, with the inputs as plain Float32Arrays (copied), as allocateFloat32 arrays (read in place),
// or through the synchronous call (read in place), one kind per process so that nothing else counts.
//   node dist/bench/input-memory.js M [plain|owned|sync] [D]   (S recomputed: memoryBudget 0)
import { readFileSync, writeFileSync } from 'node:fs';

import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import { allocateFloat32 } from '../lib/memory.js';
import { fillGaussian } from '../lib/util/random.js';
import { formatBytes } from './measure.js';

const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

async function main() {
  const M = Number(process.argv[2] ?? 8192);
  const kind = process.argv[3] ?? 'plain';
  const D = Number(process.argv[4] ?? 768);
  if (!['plain', 'owned', 'sync'].includes(kind)) throw new RangeError(`kind: expected plain, owned or sync, got ${kind}`);
  const make = (seed: number) => fillGaussian(kind === 'owned' ? allocateFloat32(M * D) : new Float32Array(M * D), seed);
  const x = make(1);
  const y = make(2);
  const options = { rows: M, dim: D, backend: 'cpu' as const, memoryBudget: 0 };
  const before = kib('VmRSS');
  writeFileSync('/proc/self/clear_refs', '5'); // the high-water mark from here
  const started = Date.now();
  const result = kind === 'sync' ? contrastiveLossSync(x, y, options) : await contrastiveLoss(x, y, options);
  const peak = kib('VmHWM');
  console.log(
    `M = ${M}, D = ${D}, ${kind}: inputs ${formatBytes(8 * M * D)}, RSS at the call ${formatBytes(before)}, peak ${formatBytes(peak)} ` +
      `(+${formatBytes(peak - before)}), ${((Date.now() - started) / 1000).toFixed(0)} s, loss ${result.loss.toFixed(6)}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
