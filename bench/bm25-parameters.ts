// `node dist/bench/bm25-parameters.js`: the BM25 baseline's choices measured on the suite's three
// search tasks, so that "beats BM25" is said against a baseline as strong as the one users compare
// with (Pyserini's: Anserini's k1 = 0.9, b = 0.4; identifiers split on code). Each task scored at a
// grid of k1 × b, with and without identifier splitting, by its headline metric (nDCG@10 for
// search, MRR for code). The grid runs on the test side: it says how far the defaults are from the
// best that tuning on the test queries could reach, and the defaults are not chosen by it.
// Writes bench/results/bm25-parameters.{md,json}. Run by hand (about a minute here).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { BM25_DEFAULTS, type Bm25Parameters } from '../lib/eval/bm25.js';
import { codeSearch, spamSearch, wordnetSearch } from '../lib/eval/suite.js';
import { headlineMetric, scoreTask, type Task } from '../lib/eval/tasks.js';
import { writeFileAtomic } from '../lib/io/atomic.js';
import { describeMachine } from './machine.js';

const K1 = [0.6, 0.9, 1.2, 1.5];
const B = [0.3, 0.4, 0.6, 0.75, 0.9];
// What eval's BM25 was before: wink's k1 = 1.2, b = 0.75, no splitting.
const BEFORE: Bm25Parameters = { k1: 1.2, b: 0.75, identifiers: false };

interface Cell extends Required<Bm25Parameters> {
  score: number;
}

async function main() {
  const tasks: Task[] = [wordnetSearch(), spamSearch(), codeSearch()];
  const started = Date.now();
  const results: Array<{ task: string; metric: string; cells: Cell[] }> = [];
  for (const task of tasks) {
    const metric = headlineMetric(task);
    const cells: Cell[] = [];
    for (const identifiers of [false, true])
      for (const k1 of K1)
        for (const b of B) {
          const scores = await scoreTask({ bm25: { k1, b, identifiers } }, task);
          cells.push({ k1, b, identifiers, score: scores![metric]! });
        }
    results.push({ task: task.name, metric, cells });
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`  ${task.name}: ${cells.length} settings (${seconds.toFixed(0)} s)\n`);
  }

  const find = (cells: Cell[], p: Required<Bm25Parameters>) => cells.find((c) => c.k1 === p.k1 && c.b === p.b && c.identifiers === p.identifiers)!.score;
  const lines = [
    `# BM25 on the suite: parameters and identifier splitting`,
    '',
    `${describeMachine(1)}; ${new Date().toISOString().slice(0, 10)}; \`node dist/bench/bm25-parameters.js\`.`,
    '',
    `| task | metric | before (k1 1.2, b 0.75) | defaults (k1 ${BM25_DEFAULTS.k1}, b ${BM25_DEFAULTS.b}) | defaults, identifiers split | best on the grid (test side) |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const { task, metric, cells } of results) {
    const best = cells.reduce((a, c) => (c.score > a.score ? c : a));
    lines.push(
      `| ${task} | ${metric} | ${find(cells, BEFORE as Required<Bm25Parameters>).toFixed(3)} | ${find(cells, { ...BM25_DEFAULTS, identifiers: false }).toFixed(3)} | ` +
        `${find(cells, { ...BM25_DEFAULTS, identifiers: true }).toFixed(3)} | ${best.score.toFixed(3)} (k1 ${best.k1}, b ${best.b}${best.identifiers ? ', split' : ''}) |`,
    );
  }
  for (const { task, metric, cells } of results) {
    lines.push('', `## ${task} (${metric})`, '', `| identifiers | k1 | ${B.map((b) => `b ${b}`).join(' | ')} |`, `| --- | ---: | ${B.map(() => '---:').join(' | ')} |`);
    for (const identifiers of [false, true])
      for (const k1 of K1)
        lines.push(`| ${identifiers ? 'split' : 'as is'} | ${k1} | ${B.map((b) => find(cells, { k1, b, identifiers }).toFixed(3)).join(' | ')} |`);
  }
  const text = lines.join('\n') + '\n';
  console.log(text);
  const folder = join(process.cwd(), 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  writeFileAtomic(join(folder, 'bm25-parameters.md'), text);
  writeFileAtomic(join(folder, 'bm25-parameters.json'), JSON.stringify({ machine: describeMachine(1), date: new Date().toISOString(), results }, null, 2) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
