// The one reader of line-oriented files (lib/io/lines.ts): streamed; a byte-order mark, \r\n and blank
// lines handled the same for every format; errors name the file and the line, counting blank lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { collect, jsonObjectLines, textLines, tsvRows } from '../lib/io/lines.js';
import { rejection } from './caught.js';

const test = suite('lines');
const work = mkdtempSync(join(tmpdir(), 'infonce-lines-'));
const file = (name: string, text: string) => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};

test('text lines: the mark dropped, \\r\\n and \\n alike, blank lines skipped but counted', async () => {
  const lines = await collect(textLines(file('a.txt', '\uFEFFfirst\r\n\r\n  \nsecond\nthird')));
  assert.equal(lines, [{ text: 'first', line: 1 }, { text: 'second', line: 4 }, { text: 'third', line: 5 }]);
  assert.equal(await collect(textLines(Readable.from(['one\ntw', 'o\n']))), [{ text: 'one', line: 1 }, { text: 'two', line: 2 }]);
});

test('JSON Lines: objects with their line numbers; bad JSON and non-objects named by file and line', async () => {
  const good = file('good.jsonl', '\uFEFF{"a": 1}\n\n{"b": 2}\r\n');
  assert.equal(await collect(jsonObjectLines(good, '{"a"}')), [{ value: { a: 1 }, line: 1 }, { value: { b: 2 }, line: 3 }]);
  const broken = file('broken.jsonl', '{"a": 1}\n\n{"a": \n');
  assert.match((await rejection(collect(jsonObjectLines(broken, '{"a"}'))))!.message, /broken\.jsonl:3: not valid JSON/);
  for (const [name, line] of [['array', '[1, 2]'], ['null', 'null'], ['number', '7']] as const) {
    const path = file(`${name}.jsonl`, `{"a": 1}\n${line}\n`);
    const error = await rejection(collect(jsonObjectLines(path, '{"a"}')));
    assert.instance(error, RangeError);
    assert.match(error!.message, new RegExp(`${name}\\.jsonl:2: expected a JSON object \\{"a"\\}`));
  }
});

test('a bad line is reported without reading the rest: the reader streams', async () => {
  // 20 MB after the bad line: a whole-file reader would read it all first.
  const path = file('big.jsonl', 'not json\n' + '{"a": 1}\n'.repeat(2_300_000));
  const seen: number[] = [];
  const error = await rejection((async () => {
    for await (const { line } of jsonObjectLines(path, '{"a"}')) seen.push(line);
  })());
  assert.match(error!.message, /big\.jsonl:1: not valid JSON/);
  assert.equal(seen, []);
});

test('TSV rows: cells split at tabs, the line trimmed', async () => {
  assert.equal(await collect(tsvRows(file('q.tsv', 'q\td\t1\r\n\nq2\td2\t0 \n'))), [{ cells: ['q', 'd', '1'], line: 1 }, { cells: ['q2', 'd2', '0'], line: 3 }]);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
