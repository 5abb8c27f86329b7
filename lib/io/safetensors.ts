// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data. Small
// enough to implement here; npm's "safetensors" package is an unmaintained 0.0.1.
import { readFileSync } from 'node:fs';

import { writeFileAtomic } from './atomic.js';

export type Tensor = { dtype: 'F32'; shape: number[]; data: Float32Array } | { dtype: 'I32'; shape: number[]; data: Int32Array };

export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
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

export function readSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const file = readFileSync(path);
  if (file.length < 8) throw new RangeError(`${path}: not a safetensors file (${file.length} bytes)`);
  const headerLength = Number(file.readBigUInt64LE(0));
  if (8 + headerLength > file.length) throw new RangeError(`${path}: truncated safetensors header`);
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const base = 8 + headerLength;
  const tensors: Record<string, Tensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (base + end > file.length) throw new RangeError(`${path}: tensor ${name} runs past the end of the file`);
    // Copy into an aligned buffer of its own (the file's offsets need not suit a typed array).
    const bytes = new Uint8Array(end - begin);
    bytes.set(file.subarray(base + begin, base + end));
    if (dtype === 'F32') tensors[name] = { dtype, shape, data: new Float32Array(bytes.buffer) };
    else if (dtype === 'I32') tensors[name] = { dtype, shape, data: new Int32Array(bytes.buffer) };
    else throw new RangeError(`${path}: tensor ${name} has dtype ${dtype}; this reader knows F32 and I32`);
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}
