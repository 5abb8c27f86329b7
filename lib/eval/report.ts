// `--report DIR`: the results as Markdown, an SVG bar chart of each task's headline metric per model,
// and (when the model came from `infonce train`) an SVG of its training curve.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';
import { formatEval, type EvalResult } from './run.js';
import { headlineMetric, type Task } from './tasks.js';

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(results: EvalResult[], tasks: Task[]): string {
  const models = [...new Set(results.map((r) => r.model))];
  const groupWidth = 40 + 26 * models.length;
  const width = 80 + groupWidth * tasks.length;
  const height = 320;
  const plot = { top: 30, bottom: 250, left: 50 };
  const y = (v: number) => plot.bottom - v * (plot.bottom - plot.top);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`];
  for (const tick of [0, 0.25, 0.5, 0.75, 1])
    parts.push(`<line x1="${plot.left}" x2="${width - 10}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/><text x="${plot.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`);
  tasks.forEach((task, t) => {
    const metric = headlineMetric(task);
    const x0 = plot.left + 20 + t * groupWidth;
    models.forEach((model, m) => {
      const v = results.find((r) => r.task === task.name && r.model === model)?.scores?.[metric];
      if (v === undefined) return;
      parts.push(`<rect x="${x0 + m * 26}" y="${y(v)}" width="22" height="${plot.bottom - y(v)}" fill="${COLOURS[m % COLOURS.length]}"><title>${escape(model)}: ${v.toFixed(3)}</title></rect>`);
      parts.push(`<text x="${x0 + m * 26 + 11}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`);
    });
    parts.push(`<text x="${x0}" y="${plot.bottom + 16}">${escape(task.name.slice(0, 34))}</text><text x="${x0}" y="${plot.bottom + 30}" fill="#666">${metric}</text>`);
  });
  models.forEach((model, m) => parts.push(`<rect x="${plot.left + m * 150}" y="8" width="10" height="10" fill="${COLOURS[m % COLOURS.length]}"/><text x="${plot.left + m * 150 + 14}" y="17">${escape(model)}</text>`));
  parts.push('</svg>');
  return parts.join('\n');
}

export function trainingCurve(log: Array<{ step: number; loss: number; accuracy: number }>): string {
  const width = 640;
  const height = 280;
  const plot = { left: 50, right: width - 50, top: 20, bottom: height - 40 };
  const maxStep = Math.max(...log.map((r) => r.step));
  const maxLoss = Math.max(...log.map((r) => r.loss));
  const x = (s: number) => plot.left + ((s - 1) / Math.max(1, maxStep - 1)) * (plot.right - plot.left);
  const yLoss = (v: number) => plot.bottom - (v / maxLoss) * (plot.bottom - plot.top);
  const yAcc = (v: number) => plot.bottom - v * (plot.bottom - plot.top);
  const path = (pick: (r: (typeof log)[number]) => number) => log.map((r, i) => `${i ? 'L' : 'M'}${x(r.step).toFixed(1)},${pick(r).toFixed(1)}`).join(' ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#ccc"/>`,
    `<path d="${path((r) => yLoss(r.loss))}" fill="none" stroke="#4e79a7" stroke-width="1.5"/>`,
    `<path d="${path((r) => yAcc(r.accuracy))}" fill="none" stroke="#e15759" stroke-width="1.5"/>`,
    `<text x="${plot.left}" y="${height - 12}">step 1</text><text x="${plot.right}" y="${height - 12}" text-anchor="end">step ${maxStep}</text>`,
    `<text x="${plot.left - 6}" y="${plot.top + 8}" text-anchor="end" fill="#4e79a7">${maxLoss.toFixed(1)}</text>`,
    `<text x="${plot.right + 6}" y="${plot.top + 8}" fill="#e15759">1.0</text>`,
    `<text x="${plot.left + 8}" y="${plot.top + 14}" fill="#4e79a7">loss</text><text x="${plot.left + 48}" y="${plot.top + 14}" fill="#e15759">in-batch top-1 accuracy</text>`,
    '</svg>',
  ].join('\n');
}

/** Writes report.md, metrics.svg and (if the model has a train.jsonl beside it) training.svg into `dir`. */
export function writeReport(dir: string, results: EvalResult[], tasks: Task[], modelDirs: string[]): string[] {
  mkdirSync(dir, { recursive: true });
  const written = [join(dir, 'report.md'), join(dir, 'metrics.svg')];
  writeFileAtomic(join(dir, 'metrics.svg'), barChart(results, tasks));
  let markdown = `# infonce evaluation\n\n${formatEval(results, true)}\n\n![headline metric per task](metrics.svg)\n`;
  for (const modelDir of modelDirs) {
    const log = join(dirname(modelDir), 'train.jsonl');
    if (!existsSync(log)) continue;
    const records = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    if (records.length < 2) continue;
    writeFileAtomic(join(dir, 'training.svg'), trainingCurve(records));
    written.push(join(dir, 'training.svg'));
    markdown += `\n## Training of ${modelDir}\n\n![training curve](training.svg)\n`;
    break;
  }
  writeFileAtomic(join(dir, 'report.md'), markdown);
  return written;
}
