// The README's first screen quotes how long its two commands take; the figures are the record that
// bench/first-commands.sh wrote on a fresh clone (bench/results/first-commands.json), never typed in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('readme');
const root = packageRoot();

// bench/first-commands.sh runs the suite to measure it (INFONCE_FIRST_COMMANDS=1): this test is then
// skipped, since the record it checks is the one being made.
const measuring = process.env.INFONCE_FIRST_COMMANDS === '1';
(measuring ? test.skip : test)("the first screen's times are bench/results/first-commands.json's, and the record is of a passing run", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const record = JSON.parse(readFileSync(join(root, 'bench/results/first-commands.json'), 'utf8')) as {
    npm_ci_s: number;
    demo_s: number;
    npm_test_s: number;
    npm_test_exit: number;
  };
  const firstScreen = readme.slice(0, readme.indexOf('## Use it in a training step'));
  const claim = /the\s+first\s+line\s+takes\s+about\s+(\d+)\s+min\s+\(`npm ci`\s+(\d+)\s+s,\s+the\s+demo\s+(\d+)\s+s\),\s+the\s+second\s+about\s+(\d+)\s+min/.exec(firstScreen);
  assert.ok(claim, 'the first screen does not state the two commands\' times');
  const [, first, install, demo, second] = claim!.map(Number);
  assert.is(install, record.npm_ci_s);
  assert.is(demo, record.demo_s);
  assert.is(first, Math.round((record.npm_ci_s + record.demo_s) / 60));
  assert.is(second, Math.round(record.npm_test_s / 60));
  assert.is(record.npm_test_exit, 0, 'the measured npm test failed');
});

test.run();
