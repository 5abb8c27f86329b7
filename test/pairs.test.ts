// Pair builders: neighbouring passages and docstring → code, deduplicated, never identical sides.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { codePairs, javascriptFunctions, pythonFunctions } from '../lib/pairs/code.js';
import { passages, textPairs } from '../lib/pairs/text.js';

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
  assert.ok(fns[1]!.code.endsWith('});\n}'));
  assert.not.match(fns[0]!.code, /Adds two numbers/);
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

test.run();
