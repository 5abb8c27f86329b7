// Identifier splitting: code names give the words prose uses for them, and the bag encoder's
// tokens include them (new models), or not (models saved before, whose config has no field).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { identifierWords, splitIdentifiers } from '../lib/encoder/identifiers.js';
import { tokenize } from '../lib/encoder/tokenizer.js';
import { encode } from 'gpt-tokenizer/encoding/cl100k_base';

const test = suite('identifiers');

test('snake_case, camelCase, PascalCase with acronyms, digits, dotted paths; plain words stay whole', () => {
  assert.equal(identifierWords('inv_matrix'), ['inv', 'matrix']);
  assert.equal(identifierWords('parseHTTPResponse'), ['parse', 'http', 'response']);
  assert.equal(identifierWords('XMLHttpRequest'), ['xml', 'http', 'request']);
  assert.equal(identifierWords('np.linalg.inv'), ['np', 'linalg', 'inv']);
  assert.equal(identifierWords('sha256Sum'), ['sha', '256', 'sum']);
  for (const word of ['matrix', 'Matrix', '__init__', 'HTTP', '$el']) assert.equal(identifierWords(word), [], word);
  assert.equal(splitIdentifiers('def inv_matrix(m): return np.linalg.inv(m)  # a matrix'), ['inv', 'matrix', 'np', 'linalg', 'inv']);
});

test("a docstring's words and a function's name meet in tokens once names are split", () => {
  const query = new Set(tokenize(['Returns the inverse of a matrix.'], 'query', 64).ids.subarray(1));
  const [plain, split] = (['none', 'split'] as const).map((identifiers) => tokenize(['def inv_matrix(m):'], 'document', 64, 'texts', { identifiers }));
  const shared = (batch: { ids: Int32Array }) => Array.from(batch.ids.subarray(1)).filter((id) => query.has(id));
  assert.equal(shared(plain!), []);
  assert.equal(shared(split!), encode(' matrix'));
  // The split words come after the text's own tokens, which are unchanged.
  assert.equal(Array.from(split!.ids.subarray(0, plain!.ids.length)), Array.from(plain!.ids));
});

test('the extra tokens are bounded: at most maxTokens / 4 beyond the text', () => {
  const text = Array.from({ length: 200 }, (_, i) => `get_item_${i}`).join(' ');
  const batch = tokenize([text], 'document', 64, 'texts', { identifiers: 'split' });
  assert.ok(batch.ids.length <= 64 + 16, `${batch.ids.length} tokens`);
  assert.ok(batch.ids.length > 64);
});

test.run();
