// Runs models over tasks and lays the scores out as a table (terminal, Markdown) and JSON.
import { progressNote } from '../util/eta.js';
import { headlineMetric, modelName, scoreTask, type Model, type Scores, type Task } from './tasks.js';

export interface EvalResult {
  task: string;
  kind: Task['kind'];
  model: string;
  /** undefined where the model does not do this kind of task (BM25 does not classify). */
  scores?: Scores;
  seconds: number;
}

/** Every model on every task; `signal` stops it between one (task, model) and the next (an AbortError). */
export async function evaluate(models: Model[], tasks: Task[], progress?: (message: string) => void, signal?: AbortSignal): Promise<EvalResult[]> {
  const results: EvalResult[] = [];
  const began = Date.now();
  for (const task of tasks)
    for (const model of models) {
      signal?.throwIfAborted();
      // Which (task, model) of how many, and the rest estimated from those done.
      const count = `[${progressNote(results.length, tasks.length * models.length, began)}]`;
      progress?.(`${count} ${task.name}: ${modelName(model)}`);
      const started = Date.now();
      const scores = await scoreTask(model, task, progress && ((message) => progress(`${count} ${message}`)));
      results.push({ task: task.name, kind: task.kind, model: modelName(model), ...(scores ? { scores } : {}), seconds: (Date.now() - started) / 1000 });
    }
  return results;
}

/** Rows: each task's metrics; columns: the models. `markdown` for the report and the README. */
export function formatEval(results: EvalResult[], markdown = false): string {
  const models = [...new Set(results.map((r) => r.model))];
  const tasks = [...new Set(results.map((r) => r.task))];
  const header = ['task', 'metric', ...models];
  const rows: string[][] = [];
  for (const task of tasks) {
    const mine = results.filter((r) => r.task === task);
    const metrics = [...new Set(mine.flatMap((r) => Object.keys(r.scores ?? {})))];
    for (const metric of metrics) {
      const values = models.map((m) => mine.find((r) => r.model === m)?.scores?.[metric]);
      const best = Math.max(...values.filter((v): v is number => v !== undefined));
      rows.push([
        task,
        metric,
        ...values.map((v) => (v === undefined ? '–' : markdown && v === best ? `**${v.toFixed(3)}**` : v.toFixed(3))),
      ]);
    }
  }
  if (markdown) return [`| ${header.join(' | ')} |`, `| ${header.map((_, c) => (c < 2 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** One JSON object per (task, model), with the metric names as keys. */
export function evalJsonLines(results: EvalResult[]): string[] {
  return results.map((r) => JSON.stringify({ task: r.task, kind: r.kind, model: r.model, ...(r.scores ?? {}), seconds: r.seconds }));
}

export { headlineMetric };
