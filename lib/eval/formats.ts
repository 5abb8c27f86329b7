// Evaluation data in the formats users already have: a BEIR folder (corpus.jsonl, queries.jsonl,
// qrels/test.tsv), query → positive pairs (JSONL), labelled texts (JSONL {"text", "label"}) and
// scored pairs (JSONL {"a", "b", "score"}). Errors name the file and the line.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

import { collect, jsonObjectLines, tsvRows } from '../io/lines.js';
import { readPairs } from '../train/pairs-file.js';
import type { ClassificationTask, CodeSearchTask, Document, SearchTask, SimilarityTask } from './tasks.js';

function jsonLines(file: string, expected: string): Promise<Array<{ value: Record<string, unknown>; line: number }>> {
  if (!existsSync(file)) throw new RangeError(`${file}: no such file`);
  return collect(jsonObjectLines(file, expected));
}

function field<T>(file: string, line: number, value: Record<string, unknown>, name: string, check: (v: unknown) => v is T, expected: string): T {
  const v = value[name];
  if (!check(v)) throw new RangeError(`${file}:${line}: "${name}" must be ${expected}`);
  return v;
}
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A BEIR dataset folder; the corpus is read in chunks of `chunk` documents (memory stays bounded). */
export async function readBeir(dir: string, split = 'test', chunk = 8192): Promise<SearchTask> {
  const corpusFile = join(dir, 'corpus.jsonl');
  const qrelsFile = join(dir, 'qrels', `${split}.tsv`);
  for (const f of [corpusFile, join(dir, 'queries.jsonl'), qrelsFile]) if (!existsSync(f)) throw new RangeError(`beir: ${f} is missing`);
  const qrels = new Map<string, Map<string, number>>();
  for await (const { cells, line } of tsvRows(qrelsFile)) {
    if (cells.length < 3 || (line === 1 && !/^\d/.test(cells[2]!))) continue; // short lines and the header
    const grade = Number(cells[2]);
    if (!Number.isFinite(grade)) throw new RangeError(`${qrelsFile}:${line}: the score "${cells[2]}" is not a number`);
    if (!qrels.has(cells[0]!)) qrels.set(cells[0]!, new Map());
    qrels.get(cells[0]!)!.set(cells[1]!, grade);
  }
  if (qrels.size === 0) throw new RangeError(`${qrelsFile}: no judgements (expected lines "query-id<TAB>corpus-id<TAB>score")`);
  const queriesFile = join(dir, 'queries.jsonl');
  const firstLine = new Map<string, number>();
  const allQueries = (await jsonLines(queriesFile, '{"_id", "text"}')).map(({ value, line }) => {
    const id = String(field(queriesFile, line, value, '_id', (v): v is string | number => typeof v === 'string' || typeof v === 'number', 'a string'));
    if (firstLine.has(id)) throw new RangeError(`${queriesFile}:${line}: "_id" ${JSON.stringify(id)} is also the id of line ${firstLine.get(id)}`);
    firstLine.set(id, line);
    return { id, text: field(queriesFile, line, value, 'text', isText, 'a non-empty string') };
  });
  const queries = allQueries.filter((q) => qrels.has(q.id));
  if (queries.length === 0)
    throw new RangeError(
      `beir: none of the ${allQueries.length} queries in ${queriesFile} has a judgement in ${qrelsFile} ` +
        `(its ${qrels.size} query ids start ${JSON.stringify([...qrels.keys()].slice(0, 3))})`,
    );
  async function* corpus(): AsyncIterable<Document[]> {
    let batch: Document[] = [];
    const seen = new Set<string>();
    for await (const { value, line } of jsonObjectLines(corpusFile, '{"_id", "title"?, "text"}')) {
      const id = value._id;
      const body = [value.title, value.text].filter((v) => typeof v === 'string' && v.trim() !== '').join('. ');
      if ((typeof id !== 'string' && typeof id !== 'number') || body === '') throw new RangeError(`${corpusFile}:${line}: needs "_id" and a non-empty "text"`);
      if (seen.has(String(id))) throw new RangeError(`${corpusFile}:${line}: "_id" ${JSON.stringify(String(id))} appears twice in the corpus`);
      seen.add(String(id));
      batch.push({ id: String(id), text: body });
      if (batch.length === chunk) {
        yield batch;
        batch = [];
      }
    }
    if (seen.size === 0) throw new RangeError(`${corpusFile}: no documents (expected one JSON object {"_id", "title"?, "text"} a line)`);
    if (batch.length) yield batch;
  }
  // The name says how many queries are scored: those with judgements, out of all.
  const scored = queries.length === allQueries.length ? `${queries.length} queries` : `${queries.length} of ${allQueries.length} queries judged`;
  return { kind: 'search', name: `${basename(dir)} (BEIR ${split}, ${scored})`, queries, corpus, qrels };
}

/** Query → positive pairs scored as code search: each positive against `distractors` others (all when absent). */
export async function readPairsTask(file: string, distractors?: number): Promise<CodeSearchTask> {
  const pairs = await readPairs(file);
  return { kind: 'code', name: basename(file), pairs, ...(distractors !== undefined ? { distractors } : {}) };
}

/** Labelled texts: a seeded 80/20 split (by line) into training and test examples. */
export async function readLabelled(file: string): Promise<ClassificationTask> {
  const rows = (await jsonLines(file, '{"text", "label"}')).map(({ value, line }) => ({
    text: field(file, line, value, 'text', isText, 'a non-empty string'),
    label: String(field(file, line, value, 'label', (v): v is string | number => typeof v === 'string' || typeof v === 'number', 'a string or a number')),
  }));
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  if (labels.length < 2) throw new RangeError(`${file}: needs at least two labels, found ${labels.length}`);
  const examples = rows.map((r) => ({ text: r.text, label: labels.indexOf(r.label) }));
  return {
    kind: 'classify',
    name: basename(file),
    labels,
    train: examples.filter((_, i) => i % 5 !== 4),
    test: examples.filter((_, i) => i % 5 === 4),
  };
}

/** Scored pairs for similarity (Spearman). */
export async function readScoredPairs(file: string): Promise<SimilarityTask> {
  const pairs = (await jsonLines(file, '{"a", "b", "score"}')).map(({ value, line }) => ({
    a: field(file, line, value, 'a', isText, 'a non-empty string'),
    b: field(file, line, value, 'b', isText, 'a non-empty string'),
    score: field(file, line, value, 'score', isNumber, 'a finite number'),
  }));
  if (pairs.length < 2) throw new RangeError(`${file}: needs at least two scored pairs`);
  return { kind: 'similarity', name: basename(file), pairs };
}
