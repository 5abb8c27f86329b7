// A JSON file another library wrote (tokenizer.json, config.json, modules.json), read with the checks
// every model file gets: a missing file, a FIFO or a folder in its place, or text that is not JSON is an
// ERR_INVALID_FILE naming the file.
import { invalidFile } from '../util/errors.js';
import { NotRegularFile, readTextFile } from './read-file.js';

/** The file's text (at most the text-file limit). */
export function readJsonText(file: string): string {
  try {
    return readTextFile(file);
  } catch (error) {
    if (error instanceof NotRegularFile) throw invalidFile(file, `${error.kind}, not a regular file`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw invalidFile(file, 'missing');
    throw error;
  }
}

/** `text` (the content of `file`) parsed: an object or a list, else an error naming the file. */
export function parseJson(file: string, text: string): Record<string, unknown> | unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidFile(file, `not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null) throw invalidFile(file, 'expected a JSON object or list');
  return value as Record<string, unknown> | unknown[];
}

/** The file parsed as a JSON object. */
export function readJsonObject(file: string): Record<string, unknown> {
  const value = parseJson(file, readJsonText(file));
  if (Array.isArray(value)) throw invalidFile(file, 'expected a JSON object, got a list');
  return value;
}
