// Reading the files a user names: only regular files, and only up to a stated size. A FIFO would
// block the read forever and a link to /dev/zero would be read until memory runs out; a file read
// whole beyond a few hundred MB is a mistake too (V8's strings stop at 512 MB). The check is made on
// the open descriptor (opened non-blocking, so that opening a FIFO does not wait for a writer), never
// on the path before opening it, so that nothing can be swapped in between.
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync, type ReadStream } from 'node:fs';

import { invalidFile } from '../util/errors.js';

/** The most a text or JSON file read whole may hold: 256 MiB. */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

/** Thrown for a path that is not a regular file (code ERR_NOT_REGULAR_FILE); folder walks skip these. */
export class NotRegularFile extends RangeError {
  readonly code = 'ERR_NOT_REGULAR_FILE';
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path}: not a regular file (${kind}); only regular files are read`);
  }
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}

// A descriptor of `path` that is a regular file, and its size; NotRegularFile otherwise.
function openRegular(path: string): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new NotRegularFile(path, kindOf(stat));
    return { fd, size: stat.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The bytes of the regular file `path`, refused (ERR_INVALID_FILE) beyond `maxBytes`. */
export function readRegularFile(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Buffer {
  const { fd, size } = openRegular(path);
  try {
    if (size > maxBytes)
      throw invalidFile(path, `holds ${size} bytes; files read whole may hold at most ${maxBytes} (${(maxBytes / 2 ** 20).toFixed(0)} MiB)`);
    // The size it had when opened, never more (a file growing while it is read stays bounded).
    const buffer = Buffer.allocUnsafe(size);
    let length = 0;
    for (let n; length < size && (n = readSync(fd, buffer, length, size - length, null)) > 0; ) length += n;
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** The text of the regular file `path` (UTF-8, a leading byte-order mark dropped). */
export function readTextFile(path: string, maxBytes = MAX_TEXT_FILE_BYTES): string {
  return readRegularFile(path, maxBytes).toString('utf8').replace(/^\uFEFF/, '');
}

/** A stream of the regular file `path` (for readers that go line by line: no size limit). */
export function regularFileStream(path: string): ReadStream {
  return createReadStream('', { fd: openRegular(path).fd, encoding: 'utf8' });
}
