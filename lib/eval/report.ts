// `--report DIR`: report.md (what was run, by which version, when; the scores; what each metric
// means), metrics.svg (each task's headline metric per model) and, for every model that `infonce
// train` made, the curve of its run (training-<k>.svg). The charts are in charts.ts.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';
import { readStepLog } from '../train/step-log.js';
import { barChart, dimensionChart, trainingCurve, type DimensionSeries } from './charts.js';
import { formatEval, type EvalResult } from './run.js';
import type { Task } from './tasks.js';

const DEFINITIONS: Record<Task['kind'], string[]> = {
  search: [
    'nDCG@10: the discounted gain of the first 10 results (gain 2^grade − 1, discount log₂(rank + 1)) over the best possible (BEIR, trec_eval).',
    'MRR@10: the mean of 1 / rank of the first relevant result within the top 10 (0 when none).',
    'recall@k: the share of the relevant documents found in the top k.',
  ],
  code: ['MRR: the mean of 1 / rank of the right function among itself and the distractors (CodeSearchNet); ties count against it.'],
  classify: [
    'accuracy, macro-F1: of a logistic-regression probe on the embeddings (L2 penalty chosen by cross-validation); knn: k nearest training examples, k chosen on a dev split; zero-shot: the nearest label description.',
  ],
  similarity: ["spearman: Spearman's rank correlation of the cosine with the human score."],
};

export interface ReportContext {
  /** The command line that produced the results. */
  command: string;
  /** `eval --dims`: each model folder's rows at its prefix dims, charted as quality against dimension. */
  dimensions?: DimensionSeries[];
  version: string;
  date?: Date;
}

/** Writes the report into `dir`; returns the files written. */
export function writeReport(dir: string, results: EvalResult[], tasks: Task[], modelDirs: string[], context: ReportContext): string[] {
  mkdirSync(dir, { recursive: true });
  const written = [join(dir, 'report.md'), join(dir, 'metrics.svg')];
  writeFileAtomic(join(dir, 'metrics.svg'), barChart(results, tasks));
  const kinds = [...new Set(tasks.map((t) => t.kind))];
  let markdown =
    `# infonce evaluation\n\n` +
    `- command: \`${context.command}\`\n- infonce ${context.version}\n- date: ${(context.date ?? new Date()).toISOString()}\n\n` +
    `${formatEval(results, true)}\n\n![headline metric per task](metrics.svg)\n\n## Metrics\n\n` +
    kinds.flatMap((k) => DEFINITIONS[k]).map((d) => `- ${d}`).join('\n') +
    '\n';
  (context.dimensions ?? []).forEach((series, k) => {
    const file = `dimensions-${k + 1}.svg`;
    writeFileAtomic(join(dir, file), dimensionChart(results, tasks, series));
    written.push(join(dir, file));
    markdown += `\n## Quality against dimension: ${series.model}\n\n![headline metric per task against the dims kept](${file})\n`;
  });
  let curves = 0;
  for (const modelDir of modelDirs) {
    const log = join(dirname(modelDir), 'train.jsonl');
    if (!existsSync(log)) continue;
    const records = readStepLog<{ step: number; loss: number; accuracy: number }>(log).records;
    if (records.length < 2) continue;
    const file = `training-${++curves}.svg`;
    writeFileAtomic(join(dir, file), trainingCurve(records, `Training of ${modelDir} (${records.length} steps)`));
    written.push(join(dir, file));
    markdown += `\n## Training of ${modelDir}\n\n![training curve of ${modelDir}](${file})\n`;
  }
  writeFileAtomic(join(dir, 'report.md'), markdown);
  return written;
}
