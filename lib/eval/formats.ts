// Evaluation data in the formats users already have: a BEIR folder (corpus.jsonl, queries.jsonl,
// qrels/test.tsv), query → positive pairs (JSONL), labelled texts (JSONL {"text", "label"}) and
// scored pairs (JSONL {"a", "b", "score"}). Errors name the file and the line.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

import { readPairs } from '../train/pairs-file.js';
import type { ClassificationTask, CodeSearchTask, Document, SearchTask, SimilarityTask } from './tasks.js';

function jsonLines(file: string): Array<{ value: Record<string, unknown>; line: number }> {
  if (!existsSync(file)) throw new RangeError(`${file}: no such file`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter((l) => l.text.trim() !== '')
    .map(({ text, line }) => {
      try {
        const value = JSON.parse(text) as unknown;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        return { value: value as Record<string, unknown>, line };
      } catch (error) {
        throw new RangeError(`${file}:${line}: not a JSON object (${(error as Error).message})`);
      }
    });
}

function field<T>(file: string, line: number, value: Record<string, unknown>, name: string, check: (v: unknown) => v is T, expected: string): T {
  const v = value[name];
  if (!check(v)) throw new RangeError(`${file}:${line}: "${name}" must be ${expected}`);
  return v;
}
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A BEIR dataset folder; the corpus is read in chunks of `chunk` documents (memory stays bounded). */
export function readBeir(dir: string, split = 'test', chunk = 8192): SearchTask {
  const corpusFile = join(dir, 'corpus.jsonl');
  const qrelsFile = join(dir, 'qrels', `${split}.tsv`);
  for (const f of [corpusFile, join(dir, 'queries.jsonl'), qrelsFile]) if (!existsSync(f)) throw new RangeError(`beir: ${f} is missing`);
  const qrels = new Map<string, Map<string, number>>();
  readFileSync(qrelsFile, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const cells = line.trim().split('\t');
      if (cells.length < 3 || (i === 0 && !/^\d/.test(cells[2]!))) return; // blank lines and the header
      const grade = Number(cells[2]);
      if (!Number.isFinite(grade)) throw new RangeError(`${qrelsFile}:${i + 1}: the score "${cells[2]}" is not a number`);
      if (!qrels.has(cells[0]!)) qrels.set(cells[0]!, new Map());
      qrels.get(cells[0]!)!.set(cells[1]!, grade);
    });
  const queries = jsonLines(join(dir, 'queries.jsonl'))
    .map(({ value, line }) => ({
      id: String(field(join(dir, 'queries.jsonl'), line, value, '_id', (v): v is string | number => typeof v === 'string' || typeof v === 'number', 'a string')),
      text: field(join(dir, 'queries.jsonl'), line, value, 'text', isText, 'a non-empty string'),
    }))
    .filter((q) => qrels.has(q.id));
  async function* corpus(): AsyncIterable<Document[]> {
    let batch: Document[] = [];
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(corpusFile, 'utf8'), crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new RangeError(`${corpusFile}:${line}: not valid JSON (${(error as Error).message})`);
      }
      const id = value._id;
      const body = [value.title, value.text].filter((v) => typeof v === 'string' && v.trim() !== '').join('. ');
      if ((typeof id !== 'string' && typeof id !== 'number') || body === '') throw new RangeError(`${corpusFile}:${line}: needs "_id" and a non-empty "text"`);
      batch.push({ id: String(id), text: body });
      if (batch.length === chunk) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  return { kind: 'search', name: `${basename(dir)} (BEIR ${split})`, queries, corpus, qrels };
}

/** Query → positive pairs scored as code search: each positive against `distractors` others (all when absent). */
export async function readPairsTask(file: string, distractors?: number): Promise<CodeSearchTask> {
  const pairs = await readPairs(file);
  return { kind: 'code', name: basename(file), pairs, ...(distractors !== undefined ? { distractors } : {}) };
}

/** Labelled texts: a seeded 80/20 split (by line) into training and test examples. */
export function readLabelled(file: string): ClassificationTask {
  const rows = jsonLines(file).map(({ value, line }) => ({
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
export function readScoredPairs(file: string): SimilarityTask {
  const pairs = jsonLines(file).map(({ value, line }) => ({
    a: field(file, line, value, 'a', isText, 'a non-empty string'),
    b: field(file, line, value, 'b', isText, 'a non-empty string'),
    score: field(file, line, value, 'score', isNumber, 'a finite number'),
  }));
  if (pairs.length < 2) throw new RangeError(`${file}: needs at least two scored pairs`);
  return { kind: 'similarity', name: basename(file), pairs };
}
