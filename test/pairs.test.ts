// Pair builders: neighbouring passages and docstring → code, deduplicated, never identical sides.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { codePairs, javascriptFunctions, pythonFunctions } from '../lib/pairs/code.js';
import { checkedCompiler } from '../lib/pairs/javascript.js';
import { usableVersion } from '../lib/util/optional-packages.js';
import * as typescriptPackage from 'typescript';
import { corpusPairs } from '../lib/pairs/corpus.js';
import { readCorpusDocuments } from '../lib/pairs/corpus-files.js';
import { passages, textPairs } from '../lib/pairs/text.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rejection } from './caught.js';

const test = suite('pairs');

test('text: passages of at least minWords, paired with their successor, duplicates dropped', () => {
  const sentence = (k: number) => `Sentence number ${k} says something about the topic at hand.`;
  const doc = Array.from({ length: 12 }, (_, p) => [sentence(3 * p), sentence(3 * p + 1), sentence(3 * p + 2)].join(' ')).join('\n\n');
  const parts = passages(doc, { minWords: 20, maxWords: 60 });
  assert.ok(parts.length >= 5);
  for (const p of parts.slice(0, -1)) assert.ok(p.split(' ').length >= 20);
  const pairs = textPairs([doc, doc], { minWords: 20 });
  assert.is(pairs.length, parts.length - 1, 'the repeated document added duplicate pairs');
  pairs.forEach((p, k) => {
    assert.is(p.query, parts[k]);
    assert.is(p.positive, parts[k + 1]);
  });
  // A document whose passages repeat gives no pair with identical sides.
  const same = Array.from({ length: 4 }, () => sentence(1).repeat(3)).join('\n\n');
  assert.ok(textPairs([same], { minWords: 20 }).every((p) => p.query !== p.positive));
});

test('text in scripts without spaces (Chinese, Thai): words and sentences by Intl.Segmenter, so it makes pairs', () => {
  const sentence = (k: number) => `今天我们在图书馆里读了第${k}本关于河流和山脉的书，然后讨论了很久。`;
  const document = Array.from({ length: 12 }, (_, k) => sentence(k)).join('');
  // One paragraph without a single space: before, it counted as one word and made no passage.
  const parts = passages(document, { minWords: 20, maxWords: 40 });
  assert.ok(parts.length >= 3, `passages: ${parts.length}`);
  for (const part of parts) assert.ok(part.includes('图书馆'), part);
  assert.ok(textPairs([document], { minWords: 20, maxWords: 40 }).length >= 2);
  // Thai: words by the dictionary (16 a paragraph, not 4 between spaces); paragraphs make the passages.
  const thai = Array.from({ length: 6 }, (_, k) => `วันนี้เราอ่านหนังสือเล่มที่ ${k} เกี่ยวกับแม่น้ำและภูเขาในห้องสมุด`).join('\n\n');
  assert.is(passages(thai, { minWords: 10, maxWords: 40 }).length, 6);
});

test('text in spaced scripts is cut as before: words between spaces, sentences at . ! ? before a capital', () => {
  const words = Array.from({ length: 50 }, (_, k) => `word${k}`).join(' ');
  const paragraph = `${words}. Then ${words}! And well-known 1,200 U.S. ${words}? ${words}.`;
  const parts = passages(paragraph, { minWords: 20, maxWords: 60 });
  assert.equal(parts.map((p) => p.split(' ').length), [50, 51, 104]); // no cut before a lower-case word
});

test('code: JSDoc functions, declarations and arrow functions, braces in strings and comments', () => {
  const source = `
/**
 * Adds two numbers.
 * @param {number} a
 */
export function add(a, b) {
  const s = "}"; // a brace in a string }
  return a + b;
}

/** Doubles every element of an array. */
const double = (xs) => {
  return xs.map((x) => { return 2 * x; });
};

/** Not followed by a function. */
let value = 3;
`;
  const fns = javascriptFunctions(source);
  assert.equal(fns.map((f) => f.name), ['add', 'double']);
  assert.is(fns[0]!.doc, 'Adds two numbers.');
  assert.ok(fns[0]!.code.startsWith('export function add(a, b) {') && fns[0]!.code.endsWith('return a + b;\n}'));
  assert.ok(fns[1]!.code.startsWith('const double = (xs) => {') && fns[1]!.code.endsWith('});\n};'));
  assert.not.match(fns[0]!.code, /Adds two numbers/);
});

test('code: TypeScript signatures are read whole (object types, defaults, generics), methods too', () => {
  const source = `
/** Adds a number to the options' x. */
export function add(a: number, opts: { x?: number } = {}): number {
  return a + (opts.x ?? 0);
}

class Stack<T> {
  /** Pushes an item on top of the stack. */
  push(item: T): void {
    this.items.push(item);
  }
}
`;
  const fns = javascriptFunctions(source, 'stack.ts');
  assert.equal(fns.map((f) => f.name), ['add', 'push']);
  assert.is(fns[0]!.code, 'export function add(a: number, opts: { x?: number } = {}): number {\n  return a + (opts.x ?? 0);\n}');
  assert.is(fns[1]!.code, 'push(item: T): void {\n    this.items.push(item);\n  }');
});

test('code: a typescript without the compiler API (TypeScript 7) is an error naming the version and the install line', () => {
  // TypeScript 7's package: no createSourceFile, no SyntaxKind (a stand-in with its shape).
  const error = (() => {
    try {
      checkedCompiler({ version: '7.0.1' } as never);
    } catch (e) {
      return e as Error & { code?: string };
    }
    return undefined;
  })();
  assert.is(error?.code, 'ERR_MISSING_PACKAGES');
  assert.match(error!.message, /typescript 7\.0\.1 does not export \(no createSourceFile, .*SyntaxKind\): npm install 'typescript@>=5 <7'/);
  assert.is(checkedCompiler(typescriptPackage as never), typescriptPackage, 'the installed typescript has the API');
  assert.ok(usableVersion('typescript', '5.9.3') && usableVersion('typescript', '6.0.0'));
  assert.not.ok(usableVersion('typescript', '7.0.0') || usableVersion('typescript', '4.9.5'));
  assert.ok(usableVersion('lodash', '99.0.0'), 'a package without a range');
});

test('code: Python docstrings are removed from the code', () => {
  const fns = pythonFunctions(`def area(w, h):
    """Return the area of a w by h rectangle."""
    return w * h

def nodoc(x):
    return x
`);
  assert.is(fns.length, 1);
  assert.is(fns[0]!.doc, 'Return the area of a w by h rectangle.');
  assert.is(fns[0]!.code, 'def area(w, h):\n    return w * h');
  const pairs = codePairs([...fns, ...fns, { name: 'f', doc: 'too short', code: 'def f(): pass' }]);
  assert.equal(pairs, [{ query: 'Return the area of a w by h rectangle.', positive: 'def area(w, h):\n    return w * h' }]);
});

test('corpus: title → body, a span → the rest of its document, neighbouring passages, each grouped by document', () => {
  const sentence = (d: number, k: number) => `Document ${d} sentence ${k} tells a little more about its subject here.`;
  const body = (d: number) => Array.from({ length: 4 }, (_, p) => [0, 1, 2].map((k) => sentence(d, 3 * p + k)).join(' ')).join('\n\n');
  const docs = [
    { id: 'a', title: 'The first document', text: body(1) },
    { id: 'b', text: body(2) },
    { id: 'c', title: 'Too short', text: 'One sentence only.' },
  ];
  const { pairs, counts } = corpusPairs(docs, { minWords: 20, maxWords: 40, seed: 3 });
  assert.equal(counts.title, 2);
  assert.ok(counts.span === 2 && counts.neighbours >= 4, JSON.stringify(counts));
  assert.equal(pairs.length, counts.title + counts.span + counts.neighbours);
  assert.equal(pairs[0], { query: 'The first document', positive: body(1), group: 'a' });
  for (const p of pairs) assert.ok(p.group === 'a' || p.group === 'b' || p.group === 'c');
  // The span is taken out of the rest: together they are the document's words, once each.
  const spans = pairs.filter((p) => p.positive.length > 2 * p.query.length && p.query.startsWith('Document'));
  assert.is(spans.length, 2);
  for (const p of spans) {
    assert.not.ok(p.positive.includes(p.query), 'the span is still in the rest');
    const doc = docs.find((d) => d.id === p.group)!;
    const bag = (t: string) => t.split(/\s+/).filter(Boolean).sort().join(' ');
    assert.is(bag(`${p.query} ${p.positive}`), bag(doc.text));
  }
  // Seeded: the same seed, the same pairs.
  assert.equal(corpusPairs(docs, { minWords: 20, maxWords: 40, seed: 3 }).pairs, pairs);
});

test('corpus files: a text file, a folder of them, a JSONL corpus (BEIR fields); bad lines are named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infonce-corpus-'));
  try {
    mkdirSync(join(dir, 'notes', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'notes', 'one.txt'), 'first');
    writeFileSync(join(dir, 'notes', 'deep', 'two.md'), 'second');
    writeFileSync(join(dir, 'notes', 'image.png'), 'not text');
    assert.equal(await readCorpusDocuments(join(dir, 'notes')), [
      { id: join('deep', 'two.md'), text: 'second' },
      { id: 'one.txt', text: 'first' },
    ]);
    assert.equal(await readCorpusDocuments(join(dir, 'notes', 'one.txt')), [{ id: join(dir, 'notes', 'one.txt'), text: 'first' }]);
    writeFileSync(join(dir, 'corpus.jsonl'), '{"_id": "d1", "title": "T", "text": "body"}\n{"text": "untitled"}\n');
    assert.equal(await readCorpusDocuments(join(dir, 'corpus.jsonl')), [
      { id: 'd1', title: 'T', text: 'body' },
      { id: 'line 2', text: 'untitled' },
    ]);
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "fine"}\n{"title": "no text"}\n');
    assert.match((await rejection(readCorpusDocuments(join(dir, 'bad.jsonl'))))!.message, /bad\.jsonl:2: "text" must be a string/);
    mkdirSync(join(dir, 'empty'));
    assert.match((await rejection(readCorpusDocuments(join(dir, 'empty'))))!.message, /no documents/);
    assert.match((await rejection(readCorpusDocuments(join(dir, 'missing'))))!.message, /no such file or folder/);
    // Markdown is read as its prose: badges, URLs, raw HTML and link definitions are not text.
    writeFileSync(
      join(dir, 'README.md'),
      '# infonce\n\n[![npm](https://img.shields.io/npm/v/x.svg)](https://npmjs.com/x) <img src="logo.png">\n\n' +
        'Train [embedding models](https://example.com/e) by contrastive pre-training, see https://arxiv.org/abs/2201.10005.\n\n' +
        'Mail <mailto:team@example.org> or team@example.org, or visit www.example.com.\n\n' +
        '| option | meaning |\n| --- | --- |\n| `--steps` | how many |\n\n[ref]: https://ref.example\n',
    );
    assert.equal(await readCorpusDocuments(join(dir, 'README.md')), [
      { id: join(dir, 'README.md'), text: 'infonce\n\nTrain embedding models by contrastive pre-training, see.\n\nMail or, or visit.\n\noption meaning\n\n--steps how many' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
