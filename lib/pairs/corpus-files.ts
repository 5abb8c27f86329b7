// The documents of `infonce pairs corpus`: a plain-text file (one document), a folder of them (every
// .txt/.md/.rst/.text file below it, each a document named by its path), or a JSON Lines corpus
// (.jsonl/.ndjson: objects with "text", optional "title" and "_id"/"id", as a BEIR corpus.jsonl).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { jsonObjectLines } from '../io/lines.js';
import { NotRegularFile, readTextFile } from '../io/read-file.js';
import type { CorpusDocument } from './corpus.js';
import { MARKDOWN_FILE, markdownText } from './markdown.js';

const TEXT_FILE = /\.(txt|md|markdown|rst|text)$/i;

function* textFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* textFiles(path);
    else if (TEXT_FILE.test(entry.name)) yield path;
  }
}

async function jsonlDocuments(file: string): Promise<CorpusDocument[]> {
  const docs: CorpusDocument[] = [];
  for await (const { value, line } of jsonObjectLines(file, '{"text", "title"?, "_id"?}')) {
    const { text, title } = value;
    if (typeof text !== 'string') throw new RangeError(`${file}:${line}: "text" must be a string`);
    if (title !== undefined && typeof title !== 'string') throw new RangeError(`${file}:${line}: "title" must be a string`);
    const id = value._id ?? value.id ?? `line ${line}`;
    docs.push({ id: String(id), text, ...(title ? { title } : {}) });
  }
  return docs;
}

/** A text file's document: Markdown as its prose (markdown.ts), anything else as it is. */
export const documentText = (file: string): string => (MARKDOWN_FILE.test(file) ? markdownText(readTextFile(file)) : readTextFile(file));

/**
 * The documents at `path` (a file or a folder); a RangeError naming the path when there are none. In
 * a folder, entries that are not regular files (a FIFO, a link to a device) are skipped and passed
 * to `skipped` with the reason; a file or JSON Lines corpus named directly must be a regular file.
 */
export async function readCorpusDocuments(path: string, skipped?: (path: string, reason: string) => void): Promise<CorpusDocument[]> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new RangeError(`${path}: no such file or folder`);
  let docs: CorpusDocument[];
  if (stat.isDirectory()) docs = readFolder(path, [...textFiles(path)], skipped);
  else if (/\.(jsonl|ndjson)$/i.test(path)) docs = await jsonlDocuments(path);
  else docs = [{ id: path, text: documentText(path) }];
  if (docs.length === 0) throw new RangeError(`${path}: no documents (a folder needs .txt, .md, .rst or .text files)`);
  return docs;
}

// The folder's files as documents named by their relative paths, skipping what is not a regular file.
function readFolder(root: string, files: string[], skipped?: (path: string, reason: string) => void): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const file of files) {
    try {
      docs.push({ id: relative(root, file), text: documentText(file) });
    } catch (error) {
      if (!(error instanceof NotRegularFile)) throw error;
      skipped?.(file, error.kind);
    }
  }
  return docs;
}
