// infonce/distributed: the loss of a batch sharded across processes, on MPI (Open MPI or MPICH,
// opened at run time: the addon links no MPI). Launch the program the way HPC users do:
//   mpirun -np 4 node train.mjs          (srun under Slurm)
// Every rank calls distributedContrastiveLoss with its own queries and documents; the result is
// exactly the one-process loss of the concatenated batch, with this rank's rows of the gradients.
import { addon } from './native.js';
import { withCallerStack } from './util/call-site.js';
import type { ContrastiveLossResult, MatryoshkaOptions, Precision } from './types.js';

/** The processes a sharded loss runs across: MPI's world. */
export interface Communicator {
  /** This process's rank, 0 … size − 1. */
  readonly rank: number;
  readonly size: number;
  /** The MPI implementation, as it names itself ("Open MPI v4.1.4", "MPICH Version: 4.0", …). */
  readonly library: string;
  /** Bytes this rank has sent so far, as bandwidth-optimal (ring) collectives send them. */
  bytesSent(): number;
  /**
   * Every rank's array, in rank order (lengths may differ; the element type must not). Waits on a
   * worker thread, so the event loop runs while a slower rank catches up.
   */
  allGather<T extends CollectiveArray>(array: T): Promise<T[]>;
  /** `root`'s array written into every rank's `array` (of the same type and length on every rank). */
  broadcast<T extends CollectiveArray>(array: T, root?: number): Promise<T>;
  barrier(): Promise<void>;
  /** Finalises MPI (once per process; no distributed call after it). */
  close(): void;
}

/** The typed arrays the collectives take. */
export type CollectiveArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const KINDS = [Float32Array, Float64Array, Int32Array, Uint8Array] as const;

function kindOf(array: unknown, what: string): number {
  const kind = KINDS.findIndex((type) => array instanceof type);
  if (kind < 0)
    throw Object.assign(new TypeError(`${what}: expected a Float32Array, Float64Array, Int32Array or Uint8Array`), { code: 'ERR_INVALID_ARG_TYPE' });
  return kind;
}

async function allGather<T extends CollectiveArray>(array: T): Promise<T[]> {
  const kind = kindOf(array, 'allGather');
  const { data, lengths } = await addon.mpiAllGather(array, kind);
  const type = KINDS[kind]!;
  const out: T[] = [];
  let offset = 0;
  for (const bytes of lengths) {
    out.push(new type(data, offset, bytes / type.BYTES_PER_ELEMENT) as T);
    offset += bytes;
  }
  return out;
}

async function broadcast<T extends CollectiveArray>(array: T, root = 0): Promise<T> {
  await addon.mpiBroadcast(array, kindOf(array, 'broadcast'), root);
  return array;
}

/**
 * Starts MPI (MPI_THREAD_SERIALIZED) unless it is started, and returns its world. Rejects with
 * ERR_MPI_UNAVAILABLE, saying what to install, when this installation has no MPI backend (it is built
 * where an MPI is found at build time: Debian/Ubuntu `apt install openmpi-bin libopenmpi-dev`, then a
 * source build) or MPI cannot start. A process started without mpirun is a world of one.
 */
export async function mpiCommunicator(): Promise<Communicator> {
  const { rank, size, library } = addon.mpiOpen();
  return {
    rank,
    size,
    library,
    bytesSent: () => addon.mpiBytesSent(),
    allGather: (array) => withCallerStack(allGather(array), allGather),
    broadcast: (array, root) => withCallerStack(broadcast(array, root), broadcast),
    barrier: () => withCallerStack(addon.mpiBarrier(), mpiCommunicator),
    close: () => addon.mpiClose(),
  };
}

export interface DistributedLossOptions {
  /** This rank's queries: rows of its `x`. */
  rows: number;
  /** This rank's documents: rows of its `y` (its shard of the global columns). Default `rows`. */
  cols?: number;
  dim: number;
  comm: Communicator;
  logScale?: number;
  symmetric?: boolean;
  /**
   * Global column indices (the ranks' `y` concatenated in rank order) of this rank's rows' positives.
   * Default: row i → this rank's own column i. A column two ranks' rows target is an error on every rank.
   */
  targets?: Int32Array;
  /** This rank's rows' and columns' groups (false-negative masking, compared across ranks). */
  groups?: { rows: Int32Array; cols: Int32Array };
  /** `'groups'`: the pairs of a group (across ranks) are each other's positives, as `contrastiveLoss`'s option. */
  positives?: 'target' | 'groups';
  /** `'fp32'` (default) or `'bf16'`: the CPU kernel's operand precision. */
  precision?: Precision;
  matryoshka?: MatryoshkaOptions;
  threads?: number;
  memoryBudget?: number;
}

/**
 * This rank's share of the contrastive loss of the whole batch (README, "Beyond one machine"): the
 * global loss, dθ and accuracies (every rank gets the same), and gradX / gradY for this rank's own
 * rows of x and y. Every rank must call it with the same options (they are compared: ranks that
 * disagree all reject with ERR_MPI naming the option). With one rank it is `contrastiveLoss`.
 */
export function distributedContrastiveLoss(x: Float32Array, y: Float32Array, options: DistributedLossOptions): Promise<ContrastiveLossResult> {
  try {
    const { comm, ...rest } = options;
    if (typeof comm !== 'object' || comm === null || typeof comm.rank !== 'number')
      throw Object.assign(new TypeError('comm: expected a Communicator (from mpiCommunicator())'), { code: 'ERR_INVALID_ARG_TYPE' });
    return withCallerStack(addon.distributedContrastiveLoss(x, y, rest), distributedContrastiveLoss);
  } catch (error) {
    return Promise.reject(error);
  }
}
