// The report's charts: they render (resvg, the SVG renderer of the tests), every text stays inside
// the picture, task labels fit their group, each model keeps its colour whatever the order, and
// report.md says what was run, when, by which version, and what the metrics mean.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Resvg } from '@resvg/resvg-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { barChart, dimensionChart, modelColours, textWidth, trainingCurve } from '../lib/eval/charts.js';
import { writeReport } from '../lib/eval/report.js';
import type { EvalResult } from '../lib/eval/run.js';
import type { Task } from '../lib/eval/tasks.js';

const test = suite('report');

const searchTask = (name: string): Task => ({ kind: 'search', name, queries: [], corpus: async function* () {}, qrels: new Map() });
const tasks: Task[] = [
  searchTask('WordNet lemma → gloss'),
  searchTask('SpamAssassin subject → body'),
  { kind: 'code', name: 'JSDoc → function (lodash, @stdlib)', pairs: [] },
  { kind: 'classify', name: 'SpamAssassin spam vs ham', labels: [], train: [], test: [] },
];
const models = ['run/model', 'demo/model', 'BM25', 'word vectors', 'untrained encoder', 'hybrid (BM25 + run/model)'];
const results: EvalResult[] = tasks.flatMap((t, i) =>
  models.map((model, m) => ({ task: t.name, kind: t.kind, model, scores: { 'ndcg@10': (i + m) / 10, mrr: 0.5, accuracy: 0.9 }, seconds: 1 })),
);
const log = Array.from({ length: 200 }, (_, s) => ({ step: s + 1, loss: 8 * Math.exp(-s / 40) + 0.5, accuracy: 1 - Math.exp(-s / 50) }));

// Every <text> inside the width of the picture, by the same (generous) width estimate the charts use.
function assertTextInside(svg: string): void {
  const width = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
  for (const m of svg.matchAll(/<text x="([\d.]+)"[^>]*?(?:text-anchor="(start|middle|end)")?[^>]*>([^<]*)<\/text>/g)) {
    const [x, anchor, content] = [Number(m[1]), m[2] ?? 'start', m[3]!.replace(/&amp;/g, '&').replace(/&[lg]t;/g, '<')];
    const size = /font-size="(\d+)"/.exec(m[0])?.[1];
    const w = textWidth(content, size ? Number(size) : 11);
    const [left, right] = anchor === 'start' ? [x, x + w] : anchor === 'end' ? [x - w, x] : [x - w / 2, x + w / 2];
    assert.ok(left >= 0 && right <= width, `"${content}" spans ${left.toFixed(0)}..${right.toFixed(0)} of ${width}`);
  }
}

function render(svg: string): { width: number; height: number; inked: number } {
  const image = new Resvg(svg, { font: { loadSystemFonts: true } }).render();
  const pixels = image.pixels;
  let inked = 0;
  for (let p = 0; p < pixels.length; p += 4) if (pixels[p]! < 200 || pixels[p + 1]! < 200 || pixels[p + 2]! < 200) inked++;
  return { width: image.width, height: image.height, inked };
}

test('the bar chart renders, on white, with every label inside and wrapped to its group', () => {
  const svg = barChart(results, tasks);
  assert.match(svg, /<rect width="\d+" height="\d+" fill="#ffffff"\/>/);
  assert.match(svg, /Headline metric per task/);
  assertTextInside(svg);
  const { width, height, inked } = render(svg);
  assert.is(width, Number(/width="(\d+)"/.exec(svg)![1]));
  assert.ok(height > 300 && inked > 2000, `${width}×${height}, ${inked} inked pixels`);
});

test('colours belong to models, not to their order, and no two models of a chart share one', () => {
  const reversed = barChart([...results].reverse(), tasks);
  const colourOf = (svg: string, model: string) => new RegExp(`fill="(#[0-9a-f]{6})"><title>${model.replace(/[()+/]/g, '\\$&')}:`).exec(svg)?.[1];
  const colours = modelColours(models);
  for (const model of models) {
    assert.is(colourOf(barChart(results, tasks), model), colours.get(model));
    assert.is(colourOf(reversed, model), colours.get(model));
  }
  assert.is(new Set(colours.values()).size, models.length);
  // Many trained models: still distinct while the palette lasts.
  const many = modelColours(Array.from({ length: 9 }, (_, i) => `run${i}/model`));
  assert.is(new Set(many.values()).size, 9);
});

test('the training curve renders with its axes, ticks, zero line and a legend off the curves', () => {
  const svg = trainingCurve(log, 'Training of run/model (200 steps)');
  assertTextInside(svg);
  assert.match(svg, />step<\/text>/);
  assert.match(svg, />0<\/text>/); // the loss axis starts at zero
  assert.match(svg, /loss \(left axis\)/);
  const { inked } = render(svg);
  assert.ok(inked > 1500, `${inked} inked pixels`);
});

test('quality against dimension (eval --dims): a line per task through each dim, every label inside; in the report', () => {
  const dims = [32, 64, 128, 256];
  const names = dims.map((d) => (d === 256 ? 'run/model' : `run/model @${d}`));
  const scored: EvalResult[] = tasks.flatMap((t, i) =>
    dims.map((d, k) => ({ task: t.name, kind: t.kind, model: names[k]!, scores: { 'ndcg@10': 0.1 + 0.05 * k + 0.01 * i, mrr: 0.2 + 0.1 * k, accuracy: 0.8 + 0.03 * k }, seconds: 1 })),
  );
  const series = { model: 'run/model', points: dims.map((dim, k) => ({ dim, name: names[k]! })) };
  const svg = dimensionChart(scored, tasks, series);
  assert.match(svg, /Quality against dimension: run\/model/);
  for (const d of dims) assert.ok(svg.includes(`>${d}</text>`), `no tick for ${d}`);
  assert.is((svg.match(/<path /g) ?? []).length, tasks.length, 'a line per task');
  assert.is((svg.match(/<circle /g) ?? []).length, tasks.length * dims.length, 'a point per task and dim');
  assertTextInside(svg);
  assert.ok(render(svg).inked > 1500);
  const dir = mkdtempSync(join(tmpdir(), 'infonce-report-'));
  try {
    const files = writeReport(join(dir, 'report'), scored, tasks, [], { command: 'infonce eval --dims 32,64,128', version: '9.9.9', dimensions: [series] });
    assert.ok(files.some((f) => f.endsWith('dimensions-1.svg')));
    assert.match(readFileSync(join(dir, 'report', 'report.md'), 'utf8'), /## Quality against dimension: run\/model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report.md: command, version, date, table, metric definitions, a curve for every trained model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infonce-report-'));
  try {
    for (const run of ['a', 'b']) {
      mkdirSync(join(dir, run, 'model'), { recursive: true });
      writeFileSync(join(dir, run, 'train.jsonl'), log.map((r) => JSON.stringify(r)).join('\n'));
    }
    const files = writeReport(join(dir, 'report'), results, tasks, [join(dir, 'a', 'model'), join(dir, 'b', 'model')], {
      command: 'infonce eval --suite default --model a/model',
      version: '9.9.9',
      date: new Date('2026-01-02T03:04:05Z'),
    });
    assert.equal(files.map((f) => f.slice(dir.length + 8)), ['report.md', 'metrics.svg', 'training-1.svg', 'training-2.svg']);
    const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
    for (const expected of ['`infonce eval --suite default --model a/model`', 'infonce 9.9.9', '2026-01-02T03:04:05.000Z', 'nDCG@10: the discounted gain', 'MRR: the mean of 1 / rank', '![training curve of', 'training-2.svg'])
      assert.ok(md.includes(expected), `report.md lacks ${expected}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
