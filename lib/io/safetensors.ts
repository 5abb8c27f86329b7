// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data. Small
// enough to implement here; npm's "safetensors" package is an unmaintained 0.0.1.
import { createHash } from 'node:crypto';

import { invalidFile } from '../util/errors.js';
import { writeFileAtomic } from './atomic.js';
import { NotRegularFile, readRegularFile } from './read-file.js';

/** A tensor; F16 and BF16 files are read widened to F32 (`stored` says which they were). */
export type Tensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array; stored?: 'F16' | 'BF16' }
  | { dtype: 'I32'; shape: number[]; data: Int32Array };

// Each tensor's checksum, in the metadata under this prefix and its name: a flipped bit in the
// weights is refused on load instead of training or embedding on silently. Files without them
// (written before 0.2.0, or by other writers) load unchecked.
const CHECKSUM = 'infonce.sha256.';

function checksum(data: Float32Array | Int32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const sums = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [CHECKSUM + name, checksum(t.data)]));
  const header: Record<string, unknown> = { __metadata__: { ...metadata, ...sums } };
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // data starts 8-byte aligned
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const chunks = names.map((name) => {
    const d = tensors[name]!.data;
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  });
  writeFileAtomic(path, length, json, ...chunks);
}

// The reader trusts nothing in the file: the header's size, every tensor's dtype, shape and byte
// range (inside the data, no two overlapping, exactly the bytes its shape needs) are checked, and an
// error names the file and the tensor.
export function readSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const file = readModelFile(path);
  if (file.length < 8) throw invalidFile(path, `not a safetensors file (${file.length} bytes)`);
  const headerLength = file.readBigUInt64LE(0);
  if (headerLength < 2n || 8n + headerLength > BigInt(file.length))
    throw invalidFile(path, `the header claims ${headerLength} bytes, the file has ${file.length - 8} after its length`);
  const base = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(file.subarray(8, base).toString('utf8'));
  } catch (error) {
    throw invalidFile(path, `the header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidFile(path, 'the header is not a JSON object');
  const dataLength = file.length - base;
  const tensors: Record<string, Tensor> = {};
  const ranges: Array<{ name: string; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const where = `tensor "${name}"`;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32' && dtype !== 'I32' && dtype !== 'F16' && dtype !== 'BF16')
      throw invalidFile(path, `${where} has dtype ${JSON.stringify(dtype)}; this reader knows F32, F16, BF16 and I32`);
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0))
      throw invalidFile(path, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((n) => Number.isSafeInteger(n) && n >= 0) || offsets[0] > offsets[1])
      throw invalidFile(path, `${where}: data_offsets ${JSON.stringify(offsets)} is not a range [begin, end] of byte offsets`);
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw invalidFile(path, `${where} runs past the end of the file (bytes ${begin}..${end} of ${dataLength})`);
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = dtype === 'F16' || dtype === 'BF16' ? 2 : 4;
    if (end - begin !== size * elements)
      throw invalidFile(path, `${where}: shape ${JSON.stringify(shape)} of ${dtype} needs ${size * elements} bytes, its range has ${end - begin}`);
    ranges.push({ name, begin, end });
    // Copy into an aligned buffer of its own (the file's offsets need not suit a typed array).
    const bytes = new Uint8Array(end - begin);
    bytes.set(file.subarray(base + begin, base + end));
    if (dtype === 'F16' || dtype === 'BF16') {
      // Widened to F32, exactly (every 16-bit value is an F32 value); the dtype the file had is kept.
      tensors[name] = { dtype: 'F32', shape, data: widen(new Uint16Array(bytes.buffer), dtype), stored: dtype };
      continue;
    }
    tensors[name] = dtype === 'F32' ? { dtype, shape, data: new Float32Array(bytes.buffer) } : { dtype, shape, data: new Int32Array(bytes.buffer) };
  }
  ranges.sort((a, b) => a.begin - b.begin);
  for (let k = 1; k < ranges.length; k++)
    if (ranges[k]!.begin < ranges[k - 1]!.end) throw invalidFile(path, `tensors "${ranges[k - 1]!.name}" and "${ranges[k]!.name}" overlap`);
  const metadata = (header as Record<string, unknown>).__metadata__ ?? {};
  if (typeof metadata !== 'object' || metadata === null) throw invalidFile(path, '__metadata__ is not an object');
  for (const [key, sum] of Object.entries(metadata as Record<string, unknown>)) {
    if (!key.startsWith(CHECKSUM)) continue;
    const name = key.slice(CHECKSUM.length);
    if (!tensors[name]) throw invalidFile(path, `the metadata holds a checksum of tensor "${name}", which the file lacks`);
    if (sum !== checksum(tensors[name]!.data))
      throw invalidFile(path, `tensor "${name}" does not match its checksum (sha256): the file is corrupt`);
  }
  return { tensors, metadata: metadata as Record<string, string> };
}

function widen(halves: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  const out = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let k = 0; k < halves.length; k++) bits[k] = halves[k]! << 16;
    return out;
  }
  for (let k = 0; k < halves.length; k++) {
    const h = halves[k]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    out[k] =
      exponent === 0 ? sign * fraction * 2 ** -24 : exponent === 31 ? (fraction ? NaN : sign * Infinity) : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

// The file's bytes; a missing file, a folder or a FIFO in its place is an invalid model file.
function readModelFile(path: string): Buffer {
  try {
    return readRegularFile(path, 2 ** 32 - 1);  // Node's largest Buffer
  } catch (error) {
    if (error instanceof NotRegularFile) throw invalidFile(path, `${error.kind}, not a safetensors file`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw invalidFile(path, 'missing');
    throw error;
  }
}
