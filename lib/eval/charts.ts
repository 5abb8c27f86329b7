// The SVG charts of `eval --report`: each task's headline metric per model (bars), and a training run's
// loss and in-batch accuracy per step (lines). Self-contained SVG: a white background (readable in a
// dark viewer too), a title, labelled axes with ticks and a grid, a legend outside the plot, task
// labels wrapped to their group's width, and a colour per model that depends on the names in the
// chart only (never on their order), so that a model keeps its colour from one report to the next.
import type { EvalResult } from './run.js';
import { headlineMetric, type Task } from './tasks.js';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#ff9da7', '#9c755f'];
// The baselines always look the same; trained models take a palette colour by a hash of their name.
const FIXED: Record<string, string> = { BM25: '#7f7f7f', 'word vectors': '#bab0ac', 'untrained encoder': '#d4c9a6' };

function nameHash(model: string): number {
  let hash = 2166136261;
  for (let i = 0; i < model.length; i++) hash = Math.imul(hash ^ model.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/**
 * The colour of each model of a chart: the baselines' fixed ones; a trained model's from a hash of
 * its name, moved on to the next free palette colour when another model of the chart holds it (the
 * models placed in name order, so the result depends on the set of names, not their order).
 */
export function modelColours(models: readonly string[]): Map<string, string> {
  const colours = new Map<string, string>();
  const taken = new Set<number>();
  for (const model of [...models].sort()) {
    if (FIXED[model]) {
      colours.set(model, FIXED[model]!);
      continue;
    }
    let slot = nameHash(model) % PALETTE.length;
    for (let tries = 0; taken.has(slot) && tries < PALETTE.length; tries++) slot = (slot + 1) % PALETTE.length;
    taken.add(slot);
    colours.set(model, PALETTE[slot]!);
  }
  return colours;
}

/** Text for SVG/XML content. */
export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escape = escapeXml;
/** Width of a text in the charts' 11 px sans-serif, generously (a wide glyph is ~0.62 em). */
export const textWidth = (text: string, size = 11) => text.length * size * 0.62;

/** Words of `text` in lines no wider than `width` pixels (a word longer than that gets a line of its own). */
export function wrap(text: string, width: number, size = 11): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidth(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The opening of a chart: the svg element, a white background, the title. */
export const svgOpen = (width: number, height: number, title: string) => [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`,
  `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(title)}</text>`,
];

/** A legend of coloured swatches (or line samples) in rows that fit `width`, from (x, y); returns its height. */
export function legend(parts: string[], entries: Array<{ label: string; colour: string; line?: boolean }>, x: number, y: number, width: number): number {
  let cx = x;
  let cy = y;
  for (const { label, colour, line } of entries) {
    const w = 18 + textWidth(label) + 16;
    if (cx > x && cx + w > x + width) {
      cx = x;
      cy += 16;
    }
    parts.push(
      line
        ? `<line x1="${cx}" x2="${cx + 14}" y1="${cy - 4}" y2="${cy - 4}" stroke="${colour}" stroke-width="2.5"/>`
        : `<rect x="${cx}" y="${cy - 9}" width="12" height="10" fill="${colour}"/>`,
    );
    parts.push(`<text x="${cx + 18}" y="${cy}">${escape(label)}</text>`);
    cx += w;
  }
  return cy - y + 16;
}

export function barChart(results: EvalResult[], tasks: Task[]): string {
  const models = [...new Set(results.map((r) => r.model))];
  const colour = modelColours(models);
  const bar = 22;
  const groupWidth = Math.max(150, 24 + (bar + 4) * models.length);
  const margin = { left: 56, right: 16 };
  const width = margin.left + groupWidth * tasks.length + margin.right;
  const labels = tasks.map((t) => wrap(t.name, groupWidth - 12));
  const labelLines = Math.max(...labels.map((l) => l.length));
  // Legend first (its height depends on the width), then the plot below it.
  const legendParts: string[] = [];
  const legendHeight = legend(legendParts, models.map((m) => ({ label: m, colour: colour.get(m)! })), margin.left, 44, width - margin.left - margin.right);
  const plot = { top: 44 + legendHeight + 8, height: 220 };
  const bottom = plot.top + plot.height;
  const height = bottom + 20 + 14 * (labelLines + 1) + 10;
  const y = (v: number) => bottom - Math.max(0, Math.min(1, v)) * plot.height;
  const parts = svgOpen(width, height, 'Headline metric per task (higher is better)');
  parts.push(...legendParts);
  for (const tick of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="${tick === 0 ? '#333' : '#e3e3e3'}"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(1)}</text>`);
  }
  parts.push(`<text transform="translate(16 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle">score</text>`);
  tasks.forEach((task, t) => {
    const metric = headlineMetric(task);
    const x0 = margin.left + t * groupWidth + 12;
    models.forEach((model, m) => {
      const v = results.find((r) => r.task === task.name && r.model === model)?.scores?.[metric];
      if (v === undefined) return;
      const x = x0 + m * (bar + 4);
      parts.push(`<rect x="${x}" y="${y(v)}" width="${bar}" height="${bottom - y(v)}" fill="${colour.get(model)}"><title>${escape(model)}: ${v.toFixed(3)}</title></rect>`);
      parts.push(`<text x="${x + bar / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`);
    });
    labels[t]!.forEach((line, l) => parts.push(`<text x="${x0}" y="${bottom + 18 + 14 * l}">${escape(line)}</text>`));
    parts.push(`<text x="${x0}" y="${bottom + 18 + 14 * labels[t]!.length}" fill="#555">${escape(metric)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Round up to 1, 2 or 5 × a power of ten: a readable axis maximum. */
function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * power >= v) ?? 10) * power;
}

export function trainingCurve(log: Array<{ step: number; loss: number; accuracy: number }>, title = 'Training'): string {
  const width = 680;
  const height = 340;
  const plot = { left: 60, right: width - 60, top: 64, bottom: height - 50 };
  const maxStep = Math.max(...log.map((r) => r.step));
  const lossTop = niceCeiling(Math.max(...log.map((r) => r.loss)));
  const x = (s: number) => plot.left + ((s - 1) / Math.max(1, maxStep - 1)) * (plot.right - plot.left);
  const yLoss = (v: number) => plot.bottom - (v / lossTop) * (plot.bottom - plot.top);
  const yAcc = (v: number) => plot.bottom - v * (plot.bottom - plot.top);
  const path = (pick: (r: (typeof log)[number]) => number) => log.map((r, i) => `${i ? 'L' : 'M'}${x(r.step).toFixed(1)},${pick(r).toFixed(1)}`).join(' ');
  const parts = svgOpen(width, height, title);
  legend(
    parts,
    [
      { label: 'loss (left axis)', colour: '#4e79a7', line: true },
      { label: 'in-batch top-1 accuracy (right axis)', colour: '#e15759', line: true },
    ],
    plot.left,
    44,
    plot.right - plot.left,
  );
  for (let k = 0; k <= 5; k++) {
    const v = (lossTop * k) / 5;
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${yLoss(v).toFixed(1)}" y2="${yLoss(v).toFixed(1)}" stroke="${k === 0 ? '#333' : '#e3e3e3'}"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${(yLoss(v) + 4).toFixed(1)}" text-anchor="end" fill="#4e79a7">${+v.toPrecision(3)}</text>`);
    parts.push(`<text x="${plot.right + 6}" y="${(yAcc(k / 5) + 4).toFixed(1)}" fill="#e15759">${(k / 5).toFixed(1)}</text>`);
  }
  // Step ticks at round numbers (a multiple of 1, 2 or 5 × 10^k, about five of them), and step 1.
  const every = niceCeiling(Math.max(1, maxStep / 5));
  const stepTicks = [1, ...Array.from({ length: Math.floor(maxStep / every) }, (_, k) => (k + 1) * every).filter((s) => s > 1)];
  for (const s of stepTicks) {
    parts.push(`<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${plot.bottom}" y2="${plot.bottom + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${plot.right}" x2="${plot.right}" y1="${plot.top}" y2="${plot.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${height - 12}" text-anchor="middle">step</text>`);
  parts.push(`<path d="${path((r) => yLoss(r.loss))}" fill="none" stroke="#4e79a7" stroke-width="1.5"/>`);
  parts.push(`<path d="${path((r) => yAcc(r.accuracy))}" fill="none" stroke="#e15759" stroke-width="1.5"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** One model folder scored at several prefix dims (`eval --dims`): the name of each row and its dim. */
export interface DimensionSeries {
  model: string;
  points: Array<{ dim: number; name: string }>;
}

/**
 * Quality against dimension for one model folder: each task's headline metric (a line per task) at
 * each prefix dim, the dims on a log₂ axis.
 */
export function dimensionChart(results: EvalResult[], tasks: Task[], series: DimensionSeries): string {
  const width = 680;
  const height = 360;
  const plot = { left: 60, right: width - 30, top: 80, bottom: height - 50 };
  const dims = series.points.map((p) => p.dim).sort((a, b) => a - b);
  const low = Math.log2(dims[0]!);
  const high = Math.log2(dims[dims.length - 1]!);
  const x = (d: number) => plot.left + (high > low ? (Math.log2(d) - low) / (high - low) : 0.5) * (plot.right - plot.left);
  const lines = tasks.map((task) => {
    const metric = headlineMetric(task);
    const points = series.points
      .map((p) => ({ dim: p.dim, value: results.find((r) => r.task === task.name && r.model === p.name)?.scores?.[metric] }))
      .filter((p): p is { dim: number; value: number } => p.value !== undefined)
      .sort((a, b) => a.dim - b.dim);
    return { label: `${task.name} (${metric})`, points };
  });
  const top = niceCeiling(Math.max(0.01, ...lines.flatMap((l) => l.points.map((p) => p.value))));
  const y = (v: number) => plot.bottom - (v / top) * (plot.bottom - plot.top);
  const colours = modelColours(lines.map((l) => l.label));
  const parts = svgOpen(width, height, `Quality against dimension: ${series.model}`);
  legend(parts, lines.map((l) => ({ label: l.label, colour: colours.get(l.label)!, line: true })), plot.left, 44, plot.right - plot.left);
  for (let k = 0; k <= 5; k++) {
    const v = (top * k) / 5;
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${k === 0 ? '#333' : '#e3e3e3'}"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toPrecision(3)}</text>`);
  }
  for (const d of dims) {
    parts.push(`<line x1="${x(d).toFixed(1)}" x2="${x(d).toFixed(1)}" y1="${plot.bottom}" y2="${plot.bottom + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x(d).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle">${d}</text>`);
  }
  parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${height - 12}" text-anchor="middle">embedding dimensions kept (log scale)</text>`);
  for (const line of lines) {
    if (line.points.length === 0) continue;
    const colour = colours.get(line.label)!;
    const path = line.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.dim).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.8"/>`);
    for (const p of line.points) parts.push(`<circle cx="${x(p.dim).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${colour}"/>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
