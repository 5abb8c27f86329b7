// `infonce demo` keeps what it made: the trained model in a named folder (demo/ by default), which
// the README's next step evaluates; the finished run's checkpoint (twice the model) is removed; a
// second demo replaces the first, and a folder of the user's in its place is never deleted.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { runDemo } from '../lib/demo-recipe.js';
import { Encoder } from '../lib/encoder/registry.js';
import { isInstalled, OPTIONAL_PACKAGES } from '../lib/util/optional-packages.js';

const test = suite('demo');
const work = mkdtempSync(join(tmpdir(), 'infonce-demo-test-'));
const packages = [...OPTIONAL_PACKAGES.demo, ...OPTIONAL_PACKAGES.wordVectors];

if (!packages.every(isInstalled)) test.skip('(skipped: the demo data packages are not installed)', () => {});
else
  test('the model is kept in out/model without a checkpoint; a second demo replaces it; a folder of the user is kept', async () => {
    const out = join(work, 'demo');
    const messages: string[] = [];
    const first = await runDemo({ out, steps: 2, batchSize: 64, log: (m) => messages.push(m) });
    assert.is(first.model, join(out, 'model'));
    assert.equal(readdirSync(out).sort(), ['infonce-run.json', 'model', 'train.jsonl']);
    assert.ok(messages.some((m) => /^kept the model in .*model \(\d+ MB\); removed the finished run's checkpoint \(\d+ MB\)$/.test(m)), messages.join('\n'));
    assert.is((await Encoder.load(first.model)).dim, 256);
    const second = await runDemo({ out, steps: 2, batchSize: 64, seed: 2 });
    assert.is(second.steps.length, 2);
    assert.equal(readdirSync(out).sort(), ['infonce-run.json', 'model', 'train.jsonl']);
    // A folder that is not a demo's: the demo refuses it and deletes nothing.
    const mine = join(work, 'mine');
    mkdirSync(join(mine, 'model'), { recursive: true });
    writeFileSync(join(mine, 'model', 'notes.txt'), 'mine');
    const error = await runDemo({ out: mine, steps: 1, batchSize: 64 }).then(() => undefined, (e: Error) => e);
    assert.match(error!.message, /which no infonce run wrote there/);
    assert.ok(existsSync(join(mine, 'model', 'notes.txt')));
  });

test.run();
