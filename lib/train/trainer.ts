// The contrastive pre-training loop of the cpt paper, for any Encoder: one shared encoder for both
// sides of a pair, in-batch negatives over a large batch (the fused loss sees all of it; the encoder
// runs in micro-batches), a trainable temperature, AdamW, and checkpoints that make an interrupted
// run resumable with nothing lost.
import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { BagEncoder, type BagOptions } from '../encoder/bag.js';
import type { Encoder, Forward, Gradient } from '../encoder/encoder.js';
import type { TokenBatch } from '../encoder/tokenizer.js';
import { writeFileAtomic } from '../io/atomic.js';
import { folderBytes, megabytes } from '../io/folder-size.js';
import { backendInfo } from '../info.js';
import { contrastiveLoss, DEFAULT_LOG_SCALE } from '../loss.js';
import { distributedContrastiveLoss, type Communicator } from '../distributed.js';
import { allocateFloat32 } from '../memory.js';
import { invalidType, outOfRange } from '../util/errors.js';
import type { Backend } from '../types.js';
import { permutation } from '../util/random.js';
import { GradientAccumulator } from './accumulator.js';
import { anyRank, broadcastParameters, checkSameParameters, epochShare, onEveryRank, shardOf, sumAcrossRanks } from './data-parallel.js';
import { arraySource, fileSource, type PairSource } from './pair-source.js';
import { checkpointFolder, loadLatestCheckpoint, removeTemporaries, saveCheckpoint, type Checkpoint, type RunState } from './checkpoint.js';
import { readRunManifest, writeRunManifest, RUN_ENTRIES } from './run-manifest.js';
import { readStepLog } from './step-log.js';
import { AdamWOptimizer } from './optimizer.js';
import type { Pair } from '../pairs/pair.js';
import { progressBar } from './progress.js';

export interface TrainOptions {
  /** The training pairs (or `pairsFile`). */
  pairs?: Pair[];
  /**
   * A JSON Lines file of pairs instead of `pairs`: scanned once (checked, fingerprinted, grouped), then
   * read again each epoch for only the pairs this process encodes in it: with `comm`, a rank holds
   * about 1/W of them, never the whole file.
   */
  pairsFile?: string;
  /** Folder for checkpoints, the step log (train.jsonl) and the final model (model/). */
  out: string;
  steps: number;
  /** Pairs a step (M). Default 4,096; at most the number of pairs. */
  batchSize?: number;
  /** Texts the encoder runs at once (memory stays bounded; the loss still sees the whole batch). */
  microBatch?: number;
  learningRate?: number;
  /** Steps of linear warm-up. Default 5% of the steps. */
  warmupSteps?: number;
  weightDecay?: number;
  clip?: number;
  seed?: number;
  /**
   * The encoder to train from scratch (ignored on resume): options for a new one (pooling 'idf'
   * unless set, its idf counted over the pairs' texts)...
   */
  encoder?: BagOptions;
  /** ...or an encoder already made (it is trained in place). */
  initialEncoder?: Encoder;
  /** Write a checkpoint every this many steps (and at the end). Default 100. */
  checkpointEvery?: number;
  /** Checkpoints kept (the latest ones). Default 2; each is about twice the model (weights and AdamW moments). */
  keepCheckpoints?: number;
  /**
   * Continue from the latest checkpoint in `out`. Every option must be as before, except `steps`,
   * which may grow (to extend a finished run; the learning-rate decay then runs to the new end).
   */
  resume?: boolean;
  /** Start afresh in an `out` that holds an earlier run: its checkpoints, model and log are deleted. */
  overwrite?: boolean;
  /**
   * Stops the run after the current step: a checkpoint is written, then the promise rejects with an
   * AbortError whose `checkpoint` and `step` say where `resume` will continue.
   */
  signal?: AbortSignal;
  /** Stop after this many steps of this call (to interrupt on purpose; tests). */
  stopAfter?: number;
  /**
   * Keep duplicates out of each other's negatives (default true): pairs that share a text, or a
   * `group`, are masked from each other in the loss (its `groups` option). The trainer's fp32 GPU
   * loss does not mask (only the experimental 16-bit panel schedule does): on the GPU the run says so
   * and trains without.
   */
  maskDuplicates?: boolean;
  /**
   * `'groups'`: pairs that share a text or a `group` are each other's positives (the loss's
   * `positives: 'groups'`) instead of being masked from each other. Default `'target'` (each query's
   * own document is its one positive; the others of its group are masked). CPU loss.
   */
  positives?: 'target' | 'groups';
  /**
   * Matryoshka training: also train these prefixes of the embedding to work alone (the loss's
   * `matryoshka` option, weights 1; the model's full dim is added as the last prefix). Then
   * `embed`/`search`/`eval` at a prefix's dim (their `dim` option) keep most of the quality. CPU loss.
   */
  matryoshka?: number[];
  /** Where the loss runs: 'cpu', 'cuda' or 'auto' (default). */
  backend?: Backend;
  /** @deprecated The old name of `backend` (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0). */
  device?: Backend;
  threads?: number;
  progress?: boolean;
  /** Called after every step with its record (also appended to train.jsonl). */
  onStep?: (record: StepRecord) => void;
  /** Called with messages about the run (initialisation, resume, checkpoints). */
  log?: (message: string) => void;
  /**
   * Data-parallel training across the ranks of `comm` (from infonce/distributed; launched with
   * `mpirun -np W`): every rank is given the same pairs and options and encodes its shard of each
   * global batch (the batches are those of one process, whatever W); the loss is sharded, the
   * gradients summed across ranks, and rank 0 alone writes `out` (which every rank must be able to
   * read to resume: a shared file system). CPU loss.
   */
  comm?: Communicator;
  /** With `comm`: compare a checksum of every rank's parameters every this many steps (and at each checkpoint). Default 10. */
  checksumEvery?: number;
}

export interface StepRecord {
  step: number;
  loss: number;
  accuracy: number;
  /** exp(−θ): the softmax temperature. */
  temperature: number;
  learningRate: number;
  gradNorm: number;
  pairsPerSecond: number;
  seconds: number;
  /** With Matryoshka prefixes: each prefix's loss, by its dim. */
  prefixLoss?: Record<string, number>;
}

// The encoder options that shape the model: a resume must not ask for other values than it has.
const ENCODER_SHAPE = ['width', 'dim', 'buckets', 'pooling', 'maxTokens', 'identifiers', 'init'];

// Identity keys present only when set (older runs' checkpoints lack them when they were not).
const OPTIONAL_IDENTITY = ['maskDuplicates', 'matryoshka', 'positives'];

/** The parts of the options a resumed run must share with the run it continues (steps may grow). */
function identity(o: TrainOptions) {
  return {
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    warmupSteps: o.warmupSteps,
    weightDecay: o.weightDecay,
    clip: o.clip,
    seed: o.seed,
    ...(o.maskDuplicates === false ? { maskDuplicates: false } : {}),
    ...(o.matryoshka ? { matryoshka: o.matryoshka } : {}),
    ...(o.positives === 'groups' ? { positives: 'groups' } : {}),
  };
}

function concatBatches(a: TokenBatch, b: TokenBatch): TokenBatch {
  const ids = new Int32Array(a.ids.length + b.ids.length);
  ids.set(a.ids);
  ids.set(b.ids, a.ids.length);
  const offsets = new Int32Array(a.offsets.length + b.offsets.length - 1);
  offsets.set(a.offsets);
  const base = a.ids.length;
  for (let t = 1; t < b.offsets.length; t++) offsets[a.offsets.length - 1 + t] = base + b.offsets[t]!;
  return { ids, offsets };
}

function sliceBatch(batch: TokenBatch, first: number, last: number): TokenBatch {
  const begin = batch.offsets[first]!;
  const offsets = batch.offsets.slice(first, last + 1);
  for (let t = 0; t < offsets.length; t++) offsets[t]! -= begin;
  return { ids: batch.ids.subarray(begin, batch.offsets[last]!), offsets };
}

function checkOptions(o: TrainOptions & { microBatch: number; learningRate: number; weightDecay: number; clip: number; seed: number; checkpointEvery: number; backend: Backend }): void {
  const integer = (name: string, value: unknown, min: number) => {
    if (!Number.isSafeInteger(value) || (value as number) < min) throw outOfRange(`${name}: expected an integer ≥ ${min}, got ${value}`);
  };
  const number = (name: string, value: number, low: number, high: number, what: string) => {
    if (typeof value !== 'number' || !(value > low && value <= high)) throw outOfRange(`${name}: expected ${what}, got ${value}`);
  };
  if (o.pairsFile !== undefined) {
    if (o.pairs !== undefined) throw outOfRange('pairs: give pairs or pairsFile, not both');
    if (typeof o.pairsFile !== 'string' || o.pairsFile === '') throw invalidType(`pairsFile: expected a file path, got ${JSON.stringify(o.pairsFile)}`);
  } else if (!Array.isArray(o.pairs) || o.pairs.length === 0) throw invalidType('pairs: expected a non-empty array of {query, positive} pairs');
  if (typeof o.out !== 'string' || o.out === '') throw invalidType(`out: expected a folder path, got ${JSON.stringify(o.out)}`);
  integer('steps', o.steps, 1);
  integer('batchSize', o.batchSize ?? 1, 1);
  integer('microBatch', o.microBatch, 1);
  integer('checkpointEvery', o.checkpointEvery, 1);
  integer('keepCheckpoints', o.keepCheckpoints ?? 2, 1);
  integer('seed', o.seed, 0);
  if (o.checksumEvery !== undefined) integer('checksumEvery', o.checksumEvery, 1);
  if (o.comm !== undefined) {
    if (typeof o.comm !== 'object' || o.comm === null || typeof o.comm.allGather !== 'function')
      throw invalidType('comm: expected a Communicator (from mpiCommunicator() of infonce/distributed)');
    if (o.backend === 'cuda') throw outOfRange("comm: the sharded loss runs on the CPU (NCCL for GPUs is not built yet); use backend 'cpu' or 'auto'");
    if ((o.batchSize ?? 4096) < o.comm.size || (o.pairs && o.pairs.length < o.comm.size))
      throw outOfRange(`batchSize: each of the ${o.comm.size} ranks needs at least one pair a step, got a batch of ${Math.min(o.batchSize ?? 4096, o.pairs?.length ?? Infinity)}`);
  }
  if (o.warmupSteps !== undefined) integer('warmupSteps', o.warmupSteps, 0);
  // A rate above 1 turns AdamW's steps into the size of the weights themselves: never what is meant.
  number('learningRate', o.learningRate, 0, 1, 'a number in (0, 1]');
  number('clip', o.clip, 0, Infinity, 'a positive number (the largest gradient norm; Infinity: no clipping)');
  if (typeof o.weightDecay !== 'number' || !(o.weightDecay >= 0 && o.weightDecay < 1))
    throw outOfRange(`weightDecay: expected a number in [0, 1), got ${o.weightDecay}`);
  if (!['cpu', 'cuda', 'auto'].includes(o.backend)) throw outOfRange(`backend: expected 'cpu', 'cuda' or 'auto', got ${JSON.stringify(o.backend)}`);
  if (o.positives !== undefined && o.positives !== 'target' && o.positives !== 'groups')
    throw outOfRange(`positives: expected 'target' or 'groups', got ${JSON.stringify(o.positives)}`);
  if (o.positives === 'groups') {
    if (o.maskDuplicates === false) throw outOfRange("positives: 'groups' takes the positives from the groups that maskDuplicates: false turns off");
    if (o.backend === 'cuda') throw outOfRange("positives: the CUDA loss does not take positives from groups yet; use backend 'cpu' or 'auto'");
  }
  if (o.matryoshka !== undefined) {
    if (!Array.isArray(o.matryoshka) || o.matryoshka.length === 0)
      throw invalidType(`matryoshka: expected a non-empty array of prefix dims, got ${JSON.stringify(o.matryoshka)}`);
    o.matryoshka.forEach((d, k) => {
      integer(`matryoshka[${k}]`, d, 1);
      if (k > 0 && d <= o.matryoshka![k - 1]!) throw outOfRange(`matryoshka[${k}]: expected dims strictly increasing, got ${d} after ${o.matryoshka![k - 1]}`);
    });
    if (o.backend === 'cuda') throw outOfRange("matryoshka: the CUDA loss does not run Matryoshka prefixes yet; use backend 'cpu' or 'auto'");
  }
  if (o.backend === 'cuda') {
    // Before the seconds of setup (word vectors, tokenising) that the first step would cost.
    const cuda = backendInfo().cuda;
    if (!cuda.available) throw Object.assign(new Error(`backend 'cuda': ${cuda.reason}`), { code: cuda.code ?? 'ERR_CUDA_NO_DEVICE' });
  }
}

/** Thrown (as a rejection) when `signal` stops a run: where its last checkpoint is. */
export class TrainingAborted extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(
    readonly step: number,
    readonly checkpoint: string,
  ) {
    super(`training stopped after step ${step}; checkpoint ${checkpoint}`);
  }
}

/** Trains (or resumes training) and returns the encoder, saved to `out/model`. */
export async function train(options: TrainOptions): Promise<{ encoder: Encoder; steps: StepRecord[] }> {
  const o = {
    batchSize: 4096,
    microBatch: 4096,
    learningRate: 2e-3,
    weightDecay: 0.01,
    clip: 1,
    seed: 1,
    checkpointEvery: 100,
    ...options,
  };
  // With comm, rank 0 speaks, writes `out` and shows progress for all.
  const comm = o.comm;
  const lead = (comm?.rank ?? 0) === 0;
  const say = lead ? (o.log ?? (() => {})) : () => {};
  if (options.backend !== undefined && options.device !== undefined)
    throw outOfRange("device: the old name of 'backend'; give only one of them");
  const backend: Backend = options.backend ?? options.device ?? 'auto';
  checkOptions({ ...o, backend });
  const pairs = o.pairsFile !== undefined ? await fileSource(o.pairsFile) : arraySource(o.pairs!);
  if (o.pairsFile !== undefined) say(`${pairs.count} pairs in ${o.pairsFile}${comm ? ': each rank reads only those it encodes, an epoch at a time' : ''}`);
  const batchSize = Math.min(o.batchSize, pairs.count);
  if (comm && batchSize < comm.size) throw outOfRange(`batchSize: each of the ${comm.size} ranks needs at least one pair a step, got a batch of ${batchSize}`);
  if (batchSize < o.batchSize) say(`batch size ${o.batchSize} is more than the ${pairs.count} pairs: each step takes all ${pairs.count}`);
  const data = { count: pairs.count, fingerprint: pairs.fingerprint };
  if (comm) await sameOnEveryRank(comm, 'pairs', `${data.count} pairs, fingerprint ${data.fingerprint}`);
  if (comm) say(`data-parallel across ${comm.size} ranks (${comm.library}): each encodes its share of every batch of ${batchSize}; rank 0 writes ${o.out}`);
  // Rank 0 alone tidies and prepares `out`; then the others read the checkpoint it settled on.
  let checkpoint: Checkpoint | undefined;
  if (!comm) checkpoint = await prepareOut(o, say);
  else {
    const prepared = await onEveryRank(comm, `out ${o.out}`, () => (lead ? prepareOut(o, say) : undefined));
    const loaded = await onEveryRank(comm, `resume from ${o.out}`, () =>
      lead || !o.resume ? undefined : loadLatestCheckpoint(o.out, undefined, () => {}),
    );
    checkpoint = lead ? prepared : loaded;
    await sameOnEveryRank(comm, 'the checkpoint to resume from', checkpoint?.dir ?? 'none');
  }
  // A resumed run keeps its warm-up unless it is given explicitly (the default is 5% of the steps,
  // which would move when a finished run is extended).
  const earlierWarmup = checkpoint?.run.options.warmupSteps;
  const warmupSteps = o.warmupSteps ?? (typeof earlierWarmup === 'number' ? earlierWarmup : Math.ceil(0.05 * o.steps));
  const runIdentity = { ...identity({ ...o, batchSize, warmupSteps }) };
  if (comm) await sameOnEveryRank(comm, 'the training options', JSON.stringify({ ...runIdentity, steps: o.steps, matryoshka: o.matryoshka }));

  let encoder: Encoder;
  let optimizer: AdamWOptimizer;
  let start = 0;
  const optimizerOptions = { learningRate: o.learningRate, weightDecay: o.weightDecay, warmupSteps, totalSteps: o.steps, clip: o.clip };
  if (checkpoint) {
    // The data first: other pairs change the batch size too, and that is not what differs.
    if (checkpoint.run.pairs.fingerprint !== data.fingerprint)
      throw outOfRange(
        `resume: ${checkpoint.dir} was trained on other pairs (${checkpoint.run.pairs.count} pairs, fingerprint ` +
          `${checkpoint.run.pairs.fingerprint}); these are ${data.count} pairs, fingerprint ${data.fingerprint}`,
      );
    const before = checkpoint.run.options as Record<string, unknown>;
    // The optional keys too: a run made with one must not resume without it.
    for (const key of new Set([...Object.keys(runIdentity), ...OPTIONAL_IDENTITY])) {
      const value = (runIdentity as Record<string, unknown>)[key];
      if (JSON.stringify(before[key]) !== JSON.stringify(value))
        throw outOfRange(`resume: ${checkpoint.dir} was made with ${key} ${JSON.stringify(before[key])}, this run asks for ${JSON.stringify(value)}`);
    }
    // The encoder comes from the checkpoint: an encoder option given now must be what it was made with.
    const made = (checkpoint.encoder as unknown as { config: Record<string, unknown> }).config;
    for (const [key, value] of Object.entries(o.encoder ?? {}))
      if (ENCODER_SHAPE.includes(key) && value !== undefined && JSON.stringify(made[key]) !== JSON.stringify(value))
        throw outOfRange(`resume: ${checkpoint.dir} holds an encoder with ${key} ${JSON.stringify(made[key])}, this run asks for ${JSON.stringify(value)}`);
    if (checkpoint.run.step > o.steps)
      throw outOfRange(`steps: ${checkpoint.dir} is at step ${checkpoint.run.step} already; ask for at least that many to resume`);
    encoder = checkpoint.encoder;
    optimizer = new AdamWOptimizer(optimizerOptions, encoder.parameters(), 0, checkpoint.optimizer);
    start = checkpoint.run.step;
    say(`resuming from ${checkpoint.dir} (step ${start} of ${o.steps}${start === checkpoint.run.options.steps ? ', extending a finished run' : ''})`);
  } else {
    encoder = o.initialEncoder ?? (await newEncoder(o, pairs, say));
    optimizer = new AdamWOptimizer(optimizerOptions, encoder.parameters(), DEFAULT_LOG_SCALE);
    // Every rank made its own; all start from rank 0's.
    if (comm) await broadcastParameters(comm, encoder.parameters(), optimizer.state.logScale);
  }
  if (comm) await checkSameParameters(comm, start, encoder.parameters(), optimizer.state.logScale);

  // The step log: keep what the checkpoint covers, drop what came after it (it will be redone).
  const logFile = join(o.out, 'train.jsonl');
  if (lead) {
    const log = readStepLog<StepRecord>(logFile);
    if (log.torn !== undefined) say(`${logFile}: dropped a torn last line (${log.torn.length} characters, an interrupted append)`);
    const history = log.records.filter((r) => r.step <= start);
    writeFileAtomic(logFile, history.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  // Duplicates masked in the loss, where it can: the trainer's fp32 CUDA loss cannot (a GPU run says so).
  const positivesByGroup = o.positives === 'groups';
  const onGpu = !comm && (backend === 'cuda' || (backend === 'auto' && backendInfo().cuda.available && !positivesByGroup));
  const grouping = o.maskDuplicates !== false && !onGpu ? pairs.groups() : undefined;
  if (grouping && positivesByGroup)
    say(`positives by group: ${grouping.grouped} of ${pairs.count} pairs share a text or group with another (${grouping.groups} groups); each other's positives`);
  else if (grouping)
    say(`masking duplicates: ${grouping.grouped} of ${pairs.count} pairs share a text or group with another (${grouping.groups} groups); never each other's negatives`);
  else if (o.maskDuplicates !== false)
    say('the fp32 CUDA loss does not mask duplicates (only the experimental bf16/fp16 panel schedule does): on the GPU, pairs that share a text are each other\'s negatives');

  // Matryoshka prefixes: the ones asked for, then the whole embedding.
  let prefixes: number[] | undefined;
  if (o.matryoshka) {
    const largest = o.matryoshka[o.matryoshka.length - 1]!;
    if (largest > encoder.dim) throw outOfRange(`matryoshka: the encoder has ${encoder.dim} dimensions, got a prefix of ${largest}`);
    prefixes = largest === encoder.dim ? [...o.matryoshka] : [...o.matryoshka, encoder.dim];
    say(`Matryoshka prefixes ${prefixes.join(', ')}: each trained to work alone (embed --dim d keeps the first d)`);
  }

  const accumulator = new GradientAccumulator(encoder.parameters());
  const stepsPerEpoch = Math.max(1, Math.floor(pairs.count / batchSize));
  let order: Int32Array | undefined;
  let orderEpoch = -1;
  const progress = progressBar(lead && (o.progress ?? false));
  const checksumEvery = o.checksumEvery ?? 10;
  progress.start(o.steps, 'training');
  const end = Math.min(o.steps, o.stopAfter !== undefined ? start + o.stopAfter : o.steps);
  const records: StepRecord[] = [];
  for (let step = start; step < end; step++) {
    const began = process.hrtime.bigint();
    // The batch: a slice of this epoch's permutation (seeded by the run's seed and the epoch).
    const epoch = Math.floor(step / stepsPerEpoch);
    if (epoch !== orderEpoch) {
      order = permutation(pairs.count, o.seed * 1_000_003 + epoch);
      orderEpoch = epoch;
      await pairs.load(epochShare(order, stepsPerEpoch, batchSize, comm?.rank ?? 0, comm?.size ?? 1));
    }
    const first = (step % stepsPerEpoch) * batchSize;
    const globalBatch = order!.subarray(first, first + batchSize);
    // With comm, this rank's share of the batch: its rows, and its documents as its columns.
    const shard = comm ? shardOf(globalBatch.length, comm.rank, comm.size) : { first: 0, last: globalBatch.length };
    const picked = globalBatch.subarray(shard.first, shard.last);
    const batch = Array.from(picked, (i) => pairs.at(i));
    const queries = batch.map((p) => p.query);
    const documents = [...batch.map((p) => p.positive), ...batch.flatMap((p) => p.negatives ?? [])];

    // Encode both sides (queries marked as queries), in micro-batches.
    const tokens = concatBatches(encoder.tokenize(queries, 'query'), encoder.tokenize(documents, 'document'));
    const texts = tokens.offsets.length - 1;
    const D = encoder.dim;
    const out = allocateFloat32(texts * D); // read in place by the loss (no copy of the batch's embeddings)
    const forwards: Array<{ first: number; last: number; forward: Forward }> = [];
    for (let t = 0; t < texts; t += o.microBatch) {
      const last = Math.min(texts, t + o.microBatch);
      const forward = await encoder.forward(sliceBatch(tokens, t, last));
      out.set(forward.out, t * D);
      forwards.push({ first: t, last, forward });
    }

    const M = queries.length;
    const lossOptions = {
      rows: M,
      cols: documents.length,
      dim: D,
      logScale: optimizer.logScale,
      ...(prefixes ? { matryoshka: { dims: prefixes } } : {}),
      ...(o.threads ? { threads: o.threads } : {}),
    };
    const loss = comm
      ? await distributedContrastiveLoss(out.subarray(0, M * D), out.subarray(M * D), {
          ...lossOptions,
          comm,
          ...(grouping ? { groups: sideGroupsOf(batchGroups(grouping.group, picked, documents.length)) } : {}),
          ...(grouping && positivesByGroup ? { positives: 'groups' as const } : {}),
        })
      : await contrastiveLoss(out.subarray(0, M * D), out.subarray(M * D), {
          ...lossOptions,
          ...(grouping ? { groups: batchGroups(grouping.group, picked, documents.length) } : {}),
          ...(grouping && positivesByGroup ? { positives: 'groups' as const } : {}),
          backend,
        });
    const gradOut = new Float32Array(texts * D);
    gradOut.set(loss.gradX as Float32Array);
    gradOut.set(loss.gradY as Float32Array, M * D);

    accumulator.reset();
    for (const { first: f, last, forward } of forwards) {
      const gradients: Gradient[] = await encoder.backward(sliceBatch(tokens, f, last), forward, gradOut.subarray(f * D, last * D));
      accumulator.add(gradients);
    }
    // With comm: every rank's gradients summed (the loss is already the global batch's mean).
    const gradients = comm ? await sumAcrossRanks(comm, encoder.parameters(), accumulator.collect(), accumulator) : accumulator.collect();
    const { gradNorm, learningRate } = optimizer.step(step + 1, encoder.parameters(), gradients, loss.gradLogScale);

    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    const record: StepRecord = {
      step: step + 1,
      loss: loss.loss,
      accuracy: loss.accuracy.row,
      temperature: Math.exp(-optimizer.logScale),
      learningRate,
      gradNorm,
      pairsPerSecond: globalBatch.length / seconds,
      seconds,
      ...(loss.prefixes ? { prefixLoss: Object.fromEntries(loss.prefixes.map((p) => [String(p.dim), p.loss])) } : {}),
    };
    if (lead) appendFileSync(logFile, JSON.stringify(record) + '\n');
    records.push(record);
    o.onStep?.(record);
    progress.update(step + 1, {
      loss: record.loss.toFixed(3),
      // top-1: the share of the batch's queries whose positive has the largest logit of its row
      'batch accuracy': record.accuracy.toFixed(3),
      // exp(−θ), the softmax temperature the loss learns (0.07 at the start)
      temperature: record.temperature.toFixed(4),
      'pairs/s': record.pairsPerSecond.toFixed(0),
    });
    // A stop asked for on any rank stops every rank after this step.
    const stopping = comm ? await anyRank(comm, o.signal?.aborted === true) : o.signal?.aborted === true;
    const checkpointing = (step + 1) % o.checkpointEvery === 0 || step + 1 === end || stopping;
    if (comm && (checkpointing || (step + 1) % checksumEvery === 0))
      await checkSameParameters(comm, step + 1, encoder.parameters(), optimizer.state.logScale);
    if (checkpointing) {
      const run: RunState = { step: step + 1, options: { ...runIdentity, steps: o.steps }, pairs: data };
      const write = () => saveCheckpoint(o.out, encoder, optimizer.state, run, o.keepCheckpoints ?? 2);
      const folder = join(checkpointFolder(o.out), `step-${String(step + 1).padStart(7, '0')}`);
      const saved = comm ? await onEveryRank(comm, 'checkpoint', () => (lead ? write() : folder)) : write();
      if (stopping) {
        progress.stop();
        throw new TrainingAborted(step + 1, saved);
      }
    }
  }
  progress.stop();
  if (end === o.steps) {
    const saveModel = () => {
      encoder.save(join(o.out, 'model'), { logScale: String(optimizer.logScale), steps: String(o.steps) });
      say(`saved the model to ${join(o.out, 'model')}`);
      // Where the disk went: the model, and the checkpoints (weights and moments) kept for --resume.
      say(`disk: model ${megabytes(folderBytes(join(o.out, 'model')))} MB, checkpoints ${megabytes(folderBytes(join(o.out, 'checkpoints')))} MB (--keep-checkpoints)`);
    };
    if (comm) await onEveryRank(comm, 'saving the model', () => (lead ? saveModel() : undefined));
    else saveModel();
  }
  return { encoder, steps: records };
}

// Tidies `out` (temporaries a kill left), finds the checkpoint to resume from, and refuses (or with
// overwrite deletes) an earlier run's files; the run manifest says which entries are this run's.
async function prepareOut(o: TrainOptions, say: (message: string) => void): Promise<Checkpoint | undefined> {
  for (const file of existsSync(o.out) ? removeTemporaries(o.out) : []) say(`removed ${file}, left by an interrupted write`);
  const checkpoint = o.resume ? await loadLatestCheckpoint(o.out, undefined, say) : undefined;
  if (o.resume && !checkpoint) say(`no checkpoint in ${o.out}: starting from scratch`);
  const earlier = RUN_ENTRIES.filter((entry) => existsSync(join(o.out, entry)));
  if (!checkpoint && earlier.length > 0) {
    if (!o.overwrite)
      throw outOfRange(
        `out: ${o.out} holds an earlier run (${earlier.join(', ')}); continue it with resume (--resume), ` +
          `or start afresh with overwrite (--overwrite), which deletes them`,
      );
    // Only what a run of ours wrote there: a folder the user put in `out` is never deleted.
    const ours = readRunManifest(o.out);
    const foreign = earlier.filter((entry) => !ours.includes(entry));
    if (foreign.length > 0)
      throw outOfRange(
        `out: ${o.out} holds ${foreign.join(', ')}, which no infonce run wrote there (its run manifest does not list ` +
          `${foreign.length === 1 ? 'it' : 'them'}); overwrite deletes only a run's own files: choose another out, or move ${foreign.length === 1 ? 'it' : 'them'} away`,
      );
    for (const entry of earlier) rmSync(join(o.out, entry), { recursive: true, force: true });
    say(`overwrite: deleted ${earlier.join(', ')} in ${o.out}`);
  }
  mkdirSync(o.out, { recursive: true });
  writeRunManifest(o.out);
  return checkpoint;
}

// Throws on every rank, naming the first that differs, unless every rank holds the same `value` of `what`.
async function sameOnEveryRank(comm: Communicator, what: string, value: string): Promise<void> {
  const all = (await comm.allGather(new TextEncoder().encode(value))).map((bytes) => new TextDecoder().decode(bytes));
  const differs = all.findIndex((v) => v !== all[0]);
  if (differs > 0)
    throw Object.assign(new Error(`the ranks disagree on ${what}: rank ${differs} has ${all[differs]}, rank 0 ${all[0]} (every rank must be given the same)`), {
      code: 'ERR_MPI',
    });
}

// A new bag encoder from the run's options. idf pooling (the default: it won on every search task of
// the suite, README "What each retrieval feature buys") counts document frequencies over the
// training texts unless given a corpus.
function newEncoder(o: TrainOptions, pairs: PairSource, say: (message: string) => void): Promise<BagEncoder> {
  const options: BagOptions = { pooling: 'idf', ...o.encoder };
  if (options.pooling === 'idf' && !options.corpus) options.corpus = pairs.corpus();
  return BagEncoder.create({ seed: o.seed, progress: say, ...options });
}


// The sharded loss takes groups per side always.
function sideGroupsOf(groups: Int32Array | { rows: Int32Array; cols: Int32Array }): { rows: Int32Array; cols: Int32Array } {
  return groups instanceof Int32Array ? { rows: groups, cols: groups } : groups;
}

// The loss's groups for a batch: one per pair, or per row and per column when hard negatives follow
// the positives (they are in no group: a hard negative stays a negative).
function batchGroups(group: Int32Array, picked: Int32Array, documents: number): Int32Array | { rows: Int32Array; cols: Int32Array } {
  const rows = Int32Array.from(picked, (i) => group[i]!);
  if (documents === rows.length) return rows;
  const cols = new Int32Array(documents).fill(-1);
  cols.set(rows);
  return { rows, cols };
}
