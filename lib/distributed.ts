// infonce/distributed: the loss of a batch sharded across processes, on MPI (Open MPI or MPICH,
// opened at run time: the addon links no MPI) for host memory, and on NCCL (libnccl.so.2, opened at
// run time) for DeviceTensors. Launch the program the way HPC users do:
//   mpirun -np 4 node train.mjs          (srun under Slurm)
// Every rank calls distributedContrastiveLoss with its own queries and documents; the result is
// exactly the one-process loss of the concatenated batch, with this rank's rows of the gradients.
import { isDeviceTensor } from './device-tensor.js';
import { addon } from './native.js';
import { withCallerStack } from './util/call-site.js';
import { launcherWorldSize, localRank } from './util/launcher.js';
import type { ContrastiveLossResult, DeviceTensor, MatryoshkaOptions, Precision } from './types.js';

/** The processes a sharded loss runs across: MPI's world. */
export interface Communicator {
  readonly kind: 'mpi';
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
    kind: 'mpi',
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

/**
 * The GPUs a sharded loss runs across: NCCL's communicator, one GPU a process. Experimental: no GPU
 * run has yet checked the sharded GPU loss against the MPI one (README, "Beyond one machine").
 */
export interface NcclCommunicator {
  readonly kind: 'nccl';
  readonly rank: number;
  readonly size: number;
  /** This process's GPU. */
  readonly device: number;
  /** The NCCL in use, as it names its version ("NCCL 2.30.7"). */
  readonly library: string;
  /** Bytes this rank has sent through NCCL so far, as bandwidth-optimal (ring) collectives send them. */
  bytesSent(): number;
  /** Destroys the NCCL communicator (MPI's, if it was started over one, stays open). */
  close(): void;
}

export interface NcclCommunicatorOptions {
  /**
   * The MPI communicator (mpiCommunicator()) whose ranks become NCCL's: rank 0's NCCL unique id reaches
   * the others over it, and each call's agreements (shapes, options, targets) go over it. Without
   * it, a world of one process.
   */
  mpi?: Communicator;
  /**
   * This process's GPU. Default: the node-local rank that the launcher sets (Open MPI's
   * OMPI_COMM_WORLD_LOCAL_RANK, MPICH's MPI_LOCALRANKID, Slurm's SLURM_LOCALID), else 0.
   */
  device?: number;
}

/**
 * Starts NCCL on this process's GPU (experimental; see NcclCommunicator). Rejects with
 * ERR_NCCL_UNAVAILABLE when libnccl.so.2 cannot be loaded (set INFONCE_NCCL_LIBRARY to it: pip's
 * nvidia-nccl-cu13 has it in site-packages/nvidia/nccl/lib), ERR_CUDA_* without a usable GPU, and
 * ERR_NCCL when NCCL cannot start. One per process.
 */
export async function ncclCommunicator(options: NcclCommunicatorOptions = {}): Promise<NcclCommunicator> {
  if (typeof options !== 'object' || options === null)
    throw Object.assign(new TypeError('options: expected { mpi?, device? }'), { code: 'ERR_INVALID_ARG_TYPE' });
  const { mpi, device = localRank() } = options;
  if (mpi !== undefined && (typeof mpi !== 'object' || mpi === null || mpi.kind !== 'mpi'))
    throw Object.assign(new TypeError('mpi: expected a Communicator from mpiCommunicator()'), { code: 'ERR_INVALID_ARG_TYPE' });
  const started = launcherWorldSize() ?? 1;
  if (mpi === undefined && started > 1)
    throw Object.assign(
      new RangeError(
        `mpi: this process is one of ${started} that a launcher started; give { mpi: await mpiCommunicator() } so that they form one NCCL communicator (without it each would be a world of one)`,
      ),
      { code: 'ERR_OUT_OF_RANGE' },
    );
  const opened = await withCallerStack(addon.ncclOpen(device, mpi !== undefined), ncclCommunicator);
  return {
    kind: 'nccl',
    ...opened,
    bytesSent: () => addon.ncclBytesSent(),
    close: () => addon.ncclClose(),
  };
}

export interface DistributedLossOptions {
  /** This rank's queries: rows of its `x`. */
  rows: number;
  /** This rank's documents: rows of its `y` (its shard of the global columns). Default `rows`. */
  cols?: number;
  dim: number;
  /** MPI's (Float32Arrays, the CPU kernel) or NCCL's (DeviceTensors or Float32Arrays, the CUDA kernel). */
  comm: Communicator | NcclCommunicator;
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
  /**
   * The operand precision: on MPI `'fp32'` (default) or `'bf16'` (the CPU kernel's); on NCCL any of
   * `'fp32'`, `'tf32'`, `'bf16'`, `'fp16'` (default: the DeviceTensors' dtype).
   */
  precision?: Precision;
  /** MPI only (the CPU kernel). */
  matryoshka?: MatryoshkaOptions;
  /** MPI only. */
  threads?: number;
  memoryBudget?: number;
  /** NCCL only: the GPU's gradient pass, as `contrastiveLoss`'s option (`'panels'` masks groups). */
  gpuSchedule?: 'tiles' | 'panels';
}

/**
 * This rank's share of the contrastive loss of the whole batch (README, "Beyond one machine"): the
 * global loss, dθ and accuracies (every rank gets the same), and gradX / gradY for this rank's own
 * rows of x and y. Every rank must call it with the same options (they are compared: ranks that
 * disagree all reject with ERR_MPI naming the option). With one rank it is `contrastiveLoss`.
 */
export function distributedContrastiveLoss(x: Float32Array, y: Float32Array, options: DistributedLossOptions): Promise<ContrastiveLossResult>;
/** The same on GPUs, over an NCCL communicator: gradients as DeviceTensors (fp32) when the inputs are. */
export function distributedContrastiveLoss(
  x: DeviceTensor | Float32Array,
  y: DeviceTensor | Float32Array,
  options: DistributedLossOptions & { comm: NcclCommunicator },
): Promise<ContrastiveLossResult<DeviceTensor | Float32Array>>;
export function distributedContrastiveLoss(
  x: DeviceTensor | Float32Array,
  y: DeviceTensor | Float32Array,
  options: DistributedLossOptions,
): Promise<ContrastiveLossResult<DeviceTensor | Float32Array>> {
  try {
    if (typeof options !== 'object' || options === null)
      throw Object.assign(new TypeError('options: expected { rows, cols?, dim, comm, ... }'), { code: 'ERR_INVALID_ARG_TYPE' });
    const { comm, ...rest } = options;
    if (typeof comm !== 'object' || comm === null || typeof comm.rank !== 'number' || (comm.kind !== 'mpi' && comm.kind !== 'nccl'))
      throw Object.assign(new TypeError('comm: expected a Communicator (from mpiCommunicator() or ncclCommunicator())'), { code: 'ERR_INVALID_ARG_TYPE' });
    if (comm.kind === 'nccl') return withCallerStack(addon.ncclDistributedContrastiveLoss(x, y, rest), distributedContrastiveLoss);
    for (const [name, value] of [['x', x], ['y', y]] as const)
      if (isDeviceTensor(value))
        throw Object.assign(new TypeError(`${name}: a DeviceTensor needs an NCCL communicator (ncclCommunicator()); an MPI one takes Float32Arrays`), {
          code: 'ERR_INVALID_ARG_TYPE',
        });
    return withCallerStack(addon.distributedContrastiveLoss(x as Float32Array, y as Float32Array, rest), distributedContrastiveLoss);
  } catch (error) {
    return Promise.reject(error);
  }
}
