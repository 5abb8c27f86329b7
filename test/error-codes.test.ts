// One list of error codes (lib/error-codes.ts): the addon's own (native core and bindings) are in it,
// every code string in the sources is in it, and the README's table is it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { ERROR_CODES, type InfonceErrorCode } from '../lib/error-codes.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import { addon, packageRoot } from '../lib/native.js';
import { search } from '../lib/search.js';
import { thrown } from './caught.js';

const test = suite('error codes');
const root = packageRoot();
const codes = Object.keys(ERROR_CODES) as InfonceErrorCode[];

test("the addon's codes are the list's native and bindings codes", () => {
  const fromAddon = codes.filter((c) => ERROR_CODES[c].from !== 'lib');
  assert.equal([...addon.errorCodes].sort(), fromAddon.sort());
});

test('every ERR_ code written in lib/, bindings/ and native/ is in the list', () => {
  const files = existsSync(join(root, '.git'))
    ? execFileSync('git', ['ls-files', 'lib', 'bindings', 'native'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => /\.(ts|cc|h|cpp|cu|cuh)$/.test(f) && existsSync(join(root, f)))
    : [];
  const seen = new Set<string>();
  for (const file of files)
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(/\bERR_[A-Z][A-Z_]*[A-Z]\b/g)) seen.add(m[0]);
  // ERR_CUDA_* in comments stands for the CUDA family.
  const unknown = [...seen].filter((c) => !(c in ERROR_CODES));
  assert.equal(unknown, [], `codes in the sources that lib/error-codes.ts does not list: ${unknown.join(', ')}`);
});

test("the README's table of codes is the list: code, class and meaning", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\w+) \| (.+) \|$/gm)].map((m) => ({ code: m[1]!, error: m[2]!, meaning: m[3]! }));
  assert.equal(rows, codes.map((code) => ({ code, error: ERROR_CODES[code].error, meaning: ERROR_CODES[code].meaning })));
});

test('a thrown error carries a listed code of the listed class', () => {
  const wrongType = thrown(() => contrastiveLossSync('x' as never, new Float32Array(4), { rows: 2, dim: 2 }));
  assert.is(wrongType?.code, 'ERR_INVALID_ARG_TYPE');
  assert.instance(wrongType, TypeError);
  const wrongLength = thrown(() => contrastiveLossSync(new Float32Array(3), new Float32Array(4), { rows: 2, dim: 2 }));
  assert.is(wrongLength?.code, 'ERR_OUT_OF_RANGE');
  assert.instance(wrongLength, RangeError);
  const notFinite = thrown(() => contrastiveLossSync(new Float32Array([NaN, 0, 0, 1]), new Float32Array([1, 0, 0, 1]), { rows: 2, dim: 2, backend: 'cpu' }));
  assert.is(notFinite?.code, 'ERR_INVALID_ARG_VALUE');
  assert.instance(notFinite, RangeError);
});

// A rejection from the worker thread points at the caller's line, not only at the event loop.
async function callerOfTheLoss(): Promise<Error | undefined> {
  return contrastiveLoss(new Float32Array([NaN, 0, 0, 1]), new Float32Array([1, 0, 0, 1]), { rows: 2, dim: 2, backend: 'cpu' }).then(
    () => undefined,
    (e: Error) => e,
  );
}
async function callerOfTheSearch(): Promise<Error | undefined> {
  return search(new Float32Array([NaN, 1]), new Float32Array([1, 0]), { dim: 2, k: 1 }).then(
    () => undefined,
    (e: Error) => e,
  );
}

test("an asynchronous rejection carries the caller's frames, with its own message and code", async () => {
  for (const [caller, code] of [[callerOfTheLoss, 'ERR_INVALID_ARG_VALUE'], [callerOfTheSearch, undefined]] as const) {
    const error = await caller();
    assert.ok(error, `${caller.name} did not reject`);
    assert.match(error!.stack!, new RegExp(`^${error!.name}: ${error!.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    assert.match(error!.stack!, new RegExp(`at ${caller.name} .*error-codes\.test\.ts`), error!.stack);
    if (code) assert.is((error as Error & { code?: string }).code, code);
  }
});

test.run();
