// Long work says how far it is and about how long the rest takes (eval's status line).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { evaluate } from '../lib/eval/run.js';
import type { SimilarityTask } from '../lib/eval/tasks.js';
import { duration, progressNote } from '../lib/util/eta.js';

const test = suite('progress');

test('progressNote: which part of how many, the time so far, and the rest estimated from the parts done', () => {
  assert.is(progressNote(0, 4, 0, 0), '1 of 4, 0 s');
  assert.is(progressNote(2, 4, 0, 20_000), '3 of 4, 20 s, about 20 s left');
  assert.is(progressNote(1, 3, 0, 90_000), '2 of 3, 1 min 30 s, about 3 min 0 s left');
  assert.is(progressNote(4, 4, 0, 5_000), '4 of 4, 5 s');
  assert.is(duration(7322), '2 h 2 min');
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
