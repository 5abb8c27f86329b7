// The trainer: a fixed seed reproduces a run; a run killed mid-way and resumed ends exactly where
// the uninterrupted one does; the loss goes down; malformed pair files name the line.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';
import { readPairs, type Pair } from '../lib/train/pairs-file.js';
import { pairGroups } from '../lib/train/pair-groups.js';
import { train } from '../lib/train/trainer.js';

const test = suite('trainer');
const work = mkdtempSync(join(tmpdir(), 'infonce-train-'));

// Pairs with a learnable relation: a query names a topic, its positive elaborates on it.
const topics = ['apples', 'rivers', 'engines', 'violins', 'glaciers', 'comets', 'bridges', 'tulips', 'falcons', 'deserts', 'harbors', 'lanterns'];
const pairs: Pair[] = topics.flatMap((topic, t) =>
  Array.from({ length: 8 }, (_, k) => ({
    query: `notes on ${topic} number ${k}`,
    positive: `${topic} ${topics[(t + k) % topics.length]} detail ${k} about ${topic}`,
  })),
);
const pairsFile = join(work, 'pairs.jsonl');
writeFileSync(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
const base = { pairs, steps: 12, batchSize: 32, learningRate: 5e-3, encoder: { init: 'random' as const, width: 16, dim: 16, buckets: 4096 }, threads: 2 };

const modelBytes = (out: string) => readFileSync(join(out, 'model', 'model.safetensors'));

test('the loss goes down, and a fixed seed reproduces the run bit for bit', async () => {
  const a = await train({ ...base, out: join(work, 'a'), seed: 3 });
  const b = await train({ ...base, out: join(work, 'b'), seed: 3 });
  assert.ok(a.steps[a.steps.length - 1]!.loss < a.steps[0]!.loss, 'the loss did not go down');
  assert.equal(a.steps.map((s) => s.loss), b.steps.map((s) => s.loss));
  assert.ok(modelBytes(join(work, 'a')).equals(modelBytes(join(work, 'b'))));
  const log = readFileSync(join(work, 'a', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(log.length, 12);
  assert.ok(['loss', 'accuracy', 'temperature', 'pairsPerSecond'].every((k) => k in log[0]));
});

test('killed mid-run (SIGKILL) and resumed, it ends with the same weights as the uninterrupted run', async () => {
  const steps = 40;
  const straight = join(work, 'straight');
  const killed = join(work, 'killed');
  const cli = (out: string, ...extra: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'lib', 'cli', 'index.ts'), 'train', '--pairs', pairsFile, '--out', out, '--steps', String(steps),
      '--batch', '32', '--lr', '0.005', '--init', 'random', '--dim', '16', '--width', '16', '--buckets', '4096',
      '--checkpoint-every', '2', '--seed', '5', ...extra],
    { stdio: 'ignore' });
  const finished = (child: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.is(await finished(cli(straight)), 0);
  const victim = cli(killed);
  // Kill it as soon as its second checkpoint is on disk.
  const second = join(killed, 'checkpoints', 'step-0000004');
  while (!existsSync(second) && victim.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  victim.kill('SIGKILL');
  await finished(victim);
  assert.not.ok(existsSync(join(killed, 'model')), 'the run finished before it could be killed');
  assert.is(await finished(cli(killed, '--resume')), 0);
  assert.ok(modelBytes(straight).equals(modelBytes(killed)), 'resumed weights differ from the uninterrupted run');
  const log = readFileSync(join(killed, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(log, Array.from({ length: steps }, (_, i) => i + 1), 'the log has gaps or repeats');
});

test('resuming with other options or other pairs is refused', async () => {
  const out = join(work, 'a');
  const other = await train({ ...base, out, seed: 4, resume: true }).then(() => undefined, (e: Error) => e);
  assert.instance(other, RangeError);
  assert.match(other!.message, /^resume: .* was made with seed 3, this run asks for 4/);
});

test('Matryoshka training: each prefix\'s loss logged and going down; the prefix embeds alone; resume needs the same prefixes', async () => {
  const out = join(work, 'matryoshka');
  const run = await train({ ...base, out, seed: 3, matryoshka: [4, 8] });
  const first = run.steps[0]!.prefixLoss!;
  const last = run.steps[run.steps.length - 1]!.prefixLoss!;
  assert.equal(Object.keys(first).sort(), ['16', '4', '8']);
  for (const d of ['4', '8', '16']) assert.ok(last[d]! < first[d]!, `prefix ${d}: ${first[d]} → ${last[d]}`);
  const total = Object.values(last).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(run.steps[run.steps.length - 1]!.loss - total) < 1e-6 * total, 'the loss is the sum of the prefixes\' (weights 1)');
  const short = await run.encoder.embed(['apples are red'], { dim: 4 });
  assert.is(short.length, 4);
  assert.ok(Math.abs(Math.hypot(...short) - 1) < 1e-6, 'a prefix embedding is normalised');
  const full = await run.encoder.embed(['apples are red']);
  const norm = Math.hypot(...full.subarray(0, 4));
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(short[k]! - full[k]! / norm) < 1e-6, 'the prefix is the full embedding\'s first coordinates');
  const other = await train({ ...base, out, seed: 3, resume: true, steps: 14 }).then(() => undefined, (e: Error) => e);
  assert.match(other?.message ?? '', /^resume: .* was made with matryoshka \[4,8\], this run asks for undefined/);
  const bad = await train({ ...base, out: join(work, 'matryoshka-bad'), matryoshka: [8, 4] }).then(() => undefined, (e: Error) => e);
  assert.instance(bad, RangeError);
  assert.match(bad!.message, /^matryoshka\[1\]: expected dims strictly increasing, got 4 after 8/);
  const tooLarge = await train({ ...base, out: join(work, 'matryoshka-large'), matryoshka: [32] }).then(() => undefined, (e: Error) => e);
  assert.match(tooLarge?.message ?? '', /^matryoshka: the encoder has 16 dimensions, got a prefix of 32/);
});

test("positives by group: the trainer passes the groups as positives; bad combinations are refused", async () => {
  const out = join(work, 'positives');
  // The eight pairs of a topic are one group: positives of each other, or masked from each other.
  const grouped = { ...base, pairs: pairs.map((p, i) => ({ ...p, group: topics[Math.floor(i / 8)]! })) };
  const run = await train({ ...grouped, out, seed: 3, positives: 'groups', steps: 4 });
  const masked = await train({ ...grouped, out: join(work, 'positives-masked'), seed: 3, steps: 4 });
  assert.is(run.steps.length, 4);
  assert.ok(run.steps[0]!.loss !== masked.steps[0]!.loss, 'the positives changed nothing: were they passed?');
  const noGroups = await train({ ...base, out: join(work, 'positives-bad'), positives: 'groups', maskDuplicates: false }).then(() => undefined, (e: Error) => e);
  assert.match(noGroups?.message ?? '', /^positives: 'groups' takes the positives from the groups that maskDuplicates: false turns off/);
  const resumed = await train({ ...grouped, out, seed: 3, steps: 6, resume: true }).then(() => undefined, (e: Error) => e);
  assert.match(resumed?.message ?? '', /was made with positives "groups", this run asks for undefined/);
});

test('a malformed pair file names the line', async () => {
  const file = join(work, 'bad.jsonl');
  writeFileSync(file, '{"query": "a", "positive": "b"}\n\n{"query": "c", "positive": }\n');
  const error = await readPairs(file).then(() => undefined, (e: Error) => e);
  assert.instance(error, RangeError);
  assert.match(error!.message, /bad\.jsonl:3: not valid JSON/);
  writeFileSync(file, '{"query": "a", "positive": ""}\n');
  const empty = await readPairs(file).then(() => undefined, (e: Error) => e);
  assert.match(empty!.message, /bad\.jsonl:1: "positive" must be a non-empty string/);
});

test('pairs that share a text or a group are one group; the trainer masks them unless told not to', async () => {
  const grouping = pairGroups([
    { query: 'a', positive: 'b' },
    { query: 'b', positive: 'c' }, // b: joined with pair 0 (a query that is another pair's positive)
    { query: 'x', positive: 'y' },
    { query: 'z', positive: 'w', group: 'doc' },
    { query: 'v', positive: 'u', group: 'doc' },
    { query: 'q', positive: 'c' }, // c: joined with pair 1, so with pair 0
  ]);
  assert.equal(Array.from(grouping.group), [0, 0, 2, 3, 3, 0]);
  assert.is(grouping.grouped, 5);
  assert.is(grouping.groups, 2);

  // Every pair twice: unmasked, each duplicate is its twin's negative, and the runs differ.
  const doubled = [...pairs, ...pairs];
  const messages: string[] = [];
  const masked = await train({ ...base, pairs: doubled, out: join(work, 'masked'), seed: 3, steps: 3, backend: 'cpu', log: (m) => messages.push(m) });
  const unmasked = await train({ ...base, pairs: doubled, out: join(work, 'unmasked'), seed: 3, steps: 3, backend: 'cpu', maskDuplicates: false });
  assert.ok(messages.some((m) => /^masking duplicates: 192 of 192 pairs share a text or group with another \(96 groups\)/.test(m)), messages.join('\n'));
  // A batch of 32 from 96 twin pairs holds some twins: masking lowers the loss at the first step.
  assert.ok(masked.steps[0]!.loss < unmasked.steps[0]!.loss, `${masked.steps[0]!.loss} vs ${unmasked.steps[0]!.loss}`);
});

test('a pair file may name groups; a bad group names the line', async () => {
  const file = join(work, 'groups.jsonl');
  writeFileSync(file, '{"query": "a", "positive": "b", "group": "doc1"}\n{"query": "c", "positive": "d", "group": 3}\n');
  const error = await readPairs(file).then(() => undefined, (e: Error) => e);
  assert.match(error!.message, /groups\.jsonl:2: "group" must be a non-empty string/);
  writeFileSync(file, '{"query": "a", "positive": "b", "group": "doc1"}\n');
  assert.equal(await readPairs(file), [{ query: 'a', positive: 'b', group: 'doc1' }]);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
