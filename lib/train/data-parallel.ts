// What data-parallel training needs of the communicator beyond the sharded loss: each rank's shard of
// a global batch, the encoder's gradients summed across ranks (sparse rows gathered, never the whole
// table), rank 0's parameters given to all, a checksum that says when ranks drifted apart, and
// agreement on errors and on stopping, so that no rank is left waiting in a collective for one that
// failed alone.
import { createHash } from 'node:crypto';

import type { Communicator } from '../distributed.js';
import type { Gradient, Parameter } from '../encoder/encoder.js';
import type { GradientAccumulator } from './accumulator.js';

/** The rows [first, last) of a global batch of `batchSize` that `rank` of `size` encodes. */
export function shardOf(batchSize: number, rank: number, size: number): { first: number; last: number } {
  return { first: Math.floor((rank * batchSize) / size), last: Math.floor(((rank + 1) * batchSize) / size) };
}

/** The pairs `rank` encodes in an epoch (`order`, its permutation): its shard of each of the epoch's batches. */
export function epochShare(order: Int32Array, stepsPerEpoch: number, batchSize: number, rank: number, size: number): Int32Array {
  const { first, last } = shardOf(batchSize, rank, size);
  const share = new Int32Array(stepsPerEpoch * (last - first));
  for (let s = 0; s < stepsPerEpoch; s++) share.set(order.subarray(s * batchSize + first, s * batchSize + last), s * (last - first));
  return share;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs `work` on this rank, then tells every rank whether any failed: a failing rank rejects with its
 * own error, the others with one naming it and its message. Nothing else waits on a rank that failed.
 */
export async function onEveryRank<T>(comm: Communicator, what: string, work: () => T | Promise<T>): Promise<T> {
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await work();
  } catch (error) {
    failure = error;
  }
  const message = failure === undefined ? '' : failure instanceof Error ? failure.message : String(failure);
  const all = await comm.allGather(encoder.encode(failure === undefined ? '' : message || 'failed'));
  if (failure !== undefined) throw failure;
  const failed = all.findIndex((bytes) => bytes.length > 0);
  if (failed >= 0)
    throw Object.assign(new Error(`${what}: rank ${failed} failed: ${decoder.decode(all[failed])}`), { code: 'ERR_MPI' });
  return result as T;
}

/** Whether any rank says true (a stop asked for on one rank stops all at the same step). */
export async function anyRank(comm: Communicator, flag: boolean): Promise<boolean> {
  const all = await comm.allGather(Uint8Array.of(flag ? 1 : 0));
  return all.some((bytes) => bytes[0] === 1);
}

/** Rank 0's parameters and log-scale state written into every rank's (a fresh run starts alike everywhere). */
export async function broadcastParameters(comm: Communicator, parameters: Parameter[], logScaleState: Float32Array): Promise<void> {
  for (const p of parameters) await comm.broadcast(p.data, 0);
  await comm.broadcast(logScaleState, 0);
}

/** A digest of the parameters and θ's state: equal on every rank unless they drifted apart. */
export function parameterChecksum(parameters: Parameter[], logScaleState: Float32Array): string {
  const hash = createHash('sha256');
  for (const p of parameters) hash.update(p.name).update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  hash.update(new Uint8Array(logScaleState.buffer, logScaleState.byteOffset, logScaleState.byteLength));
  return hash.digest('hex');
}

/** Throws on every rank, naming the first that differs from rank 0, when the checksums differ. */
export async function checkSameParameters(comm: Communicator, step: number, parameters: Parameter[], logScaleState: Float32Array): Promise<void> {
  const all = await comm.allGather(encoder.encode(parameterChecksum(parameters, logScaleState)));
  const sums = all.map((bytes) => decoder.decode(bytes));
  const differs = sums.findIndex((sum) => sum !== sums[0]);
  if (differs > 0)
    throw Object.assign(
      new Error(`after step ${step} rank ${differs}'s parameters differ from rank 0's (checksum ${sums[differs]!.slice(0, 12)} vs ${sums[0]!.slice(0, 12)}): the ranks drifted apart`),
      { code: 'ERR_MPI' },
    );
}

/**
 * The sum over ranks of each rank's gradients, left in `accumulator` (whose own gradients are
 * `local`). A sparse gradient travels as its touched rows and their values; a dense one whole.
 * Every rank adds the ranks' parts in rank order, so that every rank holds bit-identical sums and
 * takes the same optimizer step: an all-reduce would not promise that.
 */
export async function sumAcrossRanks(comm: Communicator, parameters: Parameter[], local: Gradient[], accumulator: GradientAccumulator): Promise<Gradient[]> {
  const byName = new Map(local.map((g) => [g.name, g]));
  const summed: Gradient[][] = Array.from({ length: comm.size }, () => []);
  for (const p of parameters) {
    const g = byName.get(p.name);
    // rows: the touched rows of a sparse gradient; [-1] marks a dense one, [] none on this rank.
    const rows = g ? (g.rows ?? Int32Array.of(-1)) : new Int32Array(0);
    const allRows = await comm.allGather(rows);
    const allGrads = await comm.allGather(g ? g.grads : new Float32Array(0));
    for (let r = 0; r < comm.size; r++) {
      const part = allRows[r]!;
      if (part.length === 0) continue;
      summed[r]!.push({ name: p.name, rows: part.length === 1 && part[0] === -1 ? null : part, grads: allGrads[r]! });
    }
  }
  accumulator.reset();
  for (const part of summed) accumulator.add(part);
  return accumulator.collect();
}
