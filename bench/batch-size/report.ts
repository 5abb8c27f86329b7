// The experiment's results as a Markdown table and an SVG plot (quality against batch size, one line
// per task, error bars over seeds), with the memory the naive loss would have needed at each size.
import { escapeXml as escape, legend, svgOpen } from '../../lib/eval/charts.js';
import type { RunResult } from './run-one.js';
import { naiveLossBytes } from './schedule.js';

const COLOURS = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1'];

export interface Summary {
  batchSize: number;
  seeds: number;
  steps: number;
  learningRate: number;
  /** task → mean and sample standard deviation over seeds (0 with one seed). */
  scores: Record<string, { mean: number; std: number }>;
  /** The fastest seed's training time: the least disturbed by whatever else the machine ran. */
  trainSeconds: number;
  peakRssBytes: number;
  /** The last step's loss, mean over seeds (ln(batch) is a model that knows nothing). */
  finalLoss: number;
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

export function summarise(results: RunResult[]): Summary[] {
  const sizes = [...new Set(results.map((r) => r.batchSize))].sort((a, b) => a - b);
  return sizes.map((batchSize) => {
    const runs = results.filter((r) => r.batchSize === batchSize);
    const tasks = Object.keys(runs[0]!.scores);
    return {
      batchSize,
      seeds: runs.length,
      steps: runs[0]!.steps,
      learningRate: runs[0]!.learningRate,
      scores: Object.fromEntries(tasks.map((t) => [t, meanStd(runs.map((r) => r.scores[t]!))])),
      trainSeconds: Math.min(...runs.map((r) => r.trainSeconds)),
      peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
      finalLoss: meanStd(runs.map((r) => r.finalLoss)).mean,
    };
  });
}

const gib = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`);

export function markdownTable(summaries: Summary[]): string {
  const tasks = Object.keys(summaries[0]!.scores);
  const header = ['batch', 'seeds', 'steps', 'learning rate', ...tasks, 'last loss (ln batch)', 'train s (fastest seed)', 'peak RSS', 'naive loss needs'];
  const rows = summaries.map((s) => [
    s.batchSize.toLocaleString('en-US'),
    String(s.seeds),
    String(s.steps),
    s.learningRate.toExponential(1),
    ...tasks.map((t) => (s.seeds > 1 ? `${s.scores[t]!.mean.toFixed(3)} ± ${s.scores[t]!.std.toFixed(3)}` : s.scores[t]!.mean.toFixed(3))),
    `${s.finalLoss.toFixed(2)} (${Math.log(s.batchSize).toFixed(2)})`,
    s.trainSeconds.toFixed(0),
    gib(s.peakRssBytes),
    gib(naiveLossBytes(s.batchSize)),
  ]);
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---:').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Quality against log₂(batch size), one line per task, ±1 standard deviation over seeds. */
export function plot(summaries: Summary[], title: string, schedule = 'equal epochs'): string {
  const tasks = Object.keys(summaries[0]!.scores);
  const width = 780;
  const height = 420;
  const area = { left: 60, right: width - 40, top: 50, bottom: height - 110 };
  const logs = summaries.map((s) => Math.log2(s.batchSize));
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  const highest = Math.max(...summaries.flatMap((s) => tasks.map((t) => s.scores[t]!.mean + s.scores[t]!.std)));
  const top = Math.min(1, Math.ceil(highest * 10 + 0.5) / 10);
  const x = (batch: number) => area.left + ((Math.log2(batch) - lo) / Math.max(1, hi - lo)) * (area.right - area.left);
  const y = (v: number) => area.bottom - (v / top) * (area.bottom - area.top);
  const parts = svgOpen(width, height, title);
  for (let tick = 0; tick <= top + 1e-9; tick += 0.1) {
    parts.push(`<line x1="${area.left}" x2="${area.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${area.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick.toFixed(1)}</text>`);
  }
  for (const s of summaries) {
    parts.push(`<line x1="${x(s.batchSize).toFixed(1)}" x2="${x(s.batchSize).toFixed(1)}" y1="${area.top}" y2="${area.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(s.batchSize).toFixed(1)}" y="${area.bottom + 18}" text-anchor="middle">${s.batchSize.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<line x1="${area.left}" x2="${area.right}" y1="${area.bottom}" y2="${area.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${area.left}" x2="${area.left}" y1="${area.top}" y2="${area.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(area.left + area.right) / 2}" y="${area.bottom + 38}" text-anchor="middle">batch size (pairs a step, log scale; ${schedule})</text>`);
  parts.push(`<text transform="translate(16 ${(area.top + area.bottom) / 2}) rotate(-90)" text-anchor="middle">nDCG@10 (search) · MRR (code)</text>`);
  tasks.forEach((task, t) => {
    const colour = COLOURS[t % COLOURS.length]!;
    const points = summaries.map((s) => ({ x: x(s.batchSize), mean: s.scores[task]!.mean, std: s.scores[task]!.std }));
    parts.push(`<path d="${points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${y(p.mean).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of points) {
      parts.push(`<line x1="${p.x.toFixed(1)}" x2="${p.x.toFixed(1)}" y1="${y(p.mean - p.std).toFixed(1)}" y2="${y(p.mean + p.std).toFixed(1)}" stroke="${colour}" stroke-width="1.5"/>`);
      parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${y(p.mean).toFixed(1)}" r="3.5" fill="${colour}"><title>${escape(task)}: ${p.mean.toFixed(3)} ± ${p.std.toFixed(3)}</title></circle>`);
    }
  });
  legend(parts, tasks.map((task, t) => ({ label: task, colour: COLOURS[t % COLOURS.length]!, line: true })), area.left, area.bottom + 62, area.right - area.left);
  parts.push('</svg>');
  return parts.join('\n');
}
