// Long work says how far it is and about how long the rest takes (eval's status line).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { evaluate } from '../lib/eval/run.js';
import type { SimilarityTask } from '../lib/eval/tasks.js';
import { duration, progressNote, workNote } from '../lib/util/eta.js';

const test = suite('progress');

test('progressNote: which part of how many, the time so far, and the rest estimated from the parts done', () => {
  assert.is(progressNote(0, 4, 0, 0), '1 of 4, 0 s');
  assert.is(progressNote(2, 4, 0, 20_000), '3 of 4, 20 s, about 20 s left');
  assert.is(progressNote(1, 3, 0, 90_000), '2 of 3, 1 min 30 s, about 3 min 0 s left');
  assert.is(progressNote(4, 4, 0, 5_000), '4 of 4, 5 s');
  assert.is(duration(7322), '2 h 2 min');
});

test('workNote: parts of unequal cost (the sizes of a benchmark, M²·D each), the rest from the time per unit done', () => {
  // Sizes 1,024 and 2,048 at D = 768: the second costs four times the first.
  const [small, large] = [1024 * 1024 * 768, 2048 * 2048 * 768];
  assert.is(workNote(0, small + large, 0, 3_000), '3 s');
  assert.is(workNote(small, small + large, 0, 10_000), '10 s, about 40 s left');
  assert.is(workNote(small + large, small + large, 0, 50_000), '50 s');
});

test('evaluate reports each (task, model) with its place and an estimate of the rest', async () => {
  const task: SimilarityTask = { kind: 'similarity', name: 'tiny', pairs: [{ a: 'x', b: 'y', score: 1 }, { a: 'x', b: 'z', score: 0 }] };
  const messages: string[] = [];
  await evaluate(['bm25', 'bm25'], [task, task], (m) => messages.push(m));
  const heads = messages.filter((m) => /^\[\d of 4, \d+ s(, about \d+ s left)?\] tiny: /.test(m));
  assert.is(heads.length, 4, messages.join('\n'));
  assert.match(heads[0]!, /^\[1 of 4, 0 s\] /);
  assert.match(heads[3]!, /^\[4 of 4, \d+ s, about \d+ s left\] /);
});

test.run();
