// The sharded loss on GPUs (an NCCL communicator). Here, on any machine: NCCL is found, or refused
// with what to install, before anything needs a GPU. Where a GPU and NCCL are both present (the lent
// GPU machine, whose Python environment has PyTorch's NCCL): a world of one runs the whole sharded
// path (the gather of Y, the column-statistics combine, the scatter of dY, through NCCL on the call's
// stream) and must equal contrastiveLoss on the same GPU and the float64 reference. Several ranks
// need several GPUs (NCCL refuses two ranks on one); no GPU run has checked them yet.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { distributedContrastiveLoss, ncclCommunicator, type NcclCommunicator } from '../lib/distributed.js';
import { toDevice } from '../lib/device-tensor.js';
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { packageRoot } from '../lib/native.js';
import { referenceContrastiveLoss, relativeError } from '../lib/reference.js';
import type { DeviceTensor, Precision } from '../lib/types.js';
import { distinctTargets, freshSeed, gaussianMatrix } from '../bench/random.js';
import { FP32_TOLERANCE, LOW_PRECISION_TOLERANCE } from './backends.js';
import { assertMatchesReference } from './check.js';

const test = suite('nccl');
const addonPath = join(packageRoot(), 'build', 'Release', 'infonce.node');
const scratch = mkdtempSync(join(tmpdir(), 'infonce-nccl-'));

/**
 * A libnccl.so.2 on this machine: INFONCE_NCCL_LIBRARY, a Python environment's nvidia/nccl/lib (what
 * PyTorch's CUDA wheels install), or the library inside an nvidia-nccl wheel on disk (pip's
 * find-links), unpacked here. Null where there is none.
 */
function findNccl(): string | null {
  const given = process.env.INFONCE_NCCL_LIBRARY;
  if (given && existsSync(given)) return given;
  const python = spawnSync(
    'python3',
    [
      '-c',
      `import glob, sys
for p in sys.path:
    for f in glob.glob(p + '/nvidia/nccl/lib/libnccl.so.2'): print(f); sys.exit()
for d in ['/opt/wheels', '/opt/pypi-more/files', '/opt/pypi/files']:
    for w in sorted(glob.glob(d + '/nvidia_nccl_cu1*.whl')):
        import zipfile
        z = zipfile.ZipFile(w)
        name = [n for n in z.namelist() if n.endswith('lib/libnccl.so.2')]
        if name: print(z.extract(name[0], sys.argv[1])); sys.exit()`,
      scratch,
    ],
    { encoding: 'utf8' },
  );
  const found = python.status === 0 ? python.stdout.trim() : '';
  return found && existsSync(found) ? found : null;
}

// ncclOpen in a fresh process (the loader remembers its first answer for the process's life).
function openIn(library: string): { code?: string; message?: string; opened?: boolean } {
  const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath)});
    m.exports.ncclOpen(0, false).then(
      (c) => { console.log(JSON.stringify({ opened: true, ...c })); m.exports.ncclClose(); },
      (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, INFONCE_NCCL_LIBRARY: library } });
  assert.is(run.status, 0, `the process ended with ${run.status} (${run.signal ?? ''}): ${run.stderr.slice(-1500)}`);
  return JSON.parse(run.stdout.trim()) as { code?: string; message?: string; opened?: boolean };
}

const nccl = findNccl();
const cuda = backendInfo().cuda;

test('no NCCL: ncclCommunicator() rejects with ERR_NCCL_UNAVAILABLE, saying where NCCL comes from', () => {
  const answer = openIn(join(scratch, 'absent', 'libnccl.so.2'));
  assert.is(answer.code, 'ERR_NCCL_UNAVAILABLE', JSON.stringify(answer));
  assert.match(answer.message!, /NCCL could not be loaded \(.*libnccl\.so\.2: cannot open shared object file/);
  assert.match(answer.message!, /set INFONCE_NCCL_LIBRARY to its libnccl\.so\.2 \(pip's nvidia-nccl-cu13 .*site-packages\/nvidia\/nccl\/lib\)/);
});

test('a library that is not NCCL is refused by name (not a crash)', () => {
  const answer = openIn('libm.so.6');
  assert.is(answer.code, 'ERR_NCCL_UNAVAILABLE', JSON.stringify(answer));
  assert.match(answer.message!, /libm\.so\.6 has no ncclGetVersion: not NCCL 2/);
});

if (nccl)
  test(`real NCCL (${nccl}) loads; what stops it next is the GPU, named`, () => {
    const answer = openIn(nccl);
    if (cuda.available) {
      assert.ok(answer.opened, `a world of one on GPU 0 did not start: ${JSON.stringify(answer)}`);
      assert.match((answer as { library?: string }).library ?? '', /^NCCL 2\.\d+\.\d+$/);
    } else {
      assert.not.equal(answer.code, 'ERR_NCCL_UNAVAILABLE', answer.message);
      assert.match(answer.code ?? '', /^ERR_CUDA_(NOT_BUILT|NO_DEVICE|UNAVAILABLE)$/, JSON.stringify(answer));
    }
  });
else test.skip('real NCCL loads (skipped: no libnccl.so.2 here: no Python NCCL, no nvidia-nccl wheel, no INFONCE_NCCL_LIBRARY)', () => {});

test('a process one of several ranks (mpirun) is refused a world of one: it needs { mpi }', async () => {
  const before = process.env.OMPI_COMM_WORLD_SIZE;
  process.env.OMPI_COMM_WORLD_SIZE = '3';
  try {
    const error = await ncclCommunicator().then(() => undefined, (e: Error) => e);
    assert.instance(error, RangeError, String(error));
    assert.match(error!.message, /mpi: this process is one of 3 that a launcher started; give \{ mpi: await mpiCommunicator\(\) \}/);
  } finally {
    if (before === undefined) delete process.env.OMPI_COMM_WORLD_SIZE;
    else process.env.OMPI_COMM_WORLD_SIZE = before;
  }
});

test('bad arguments are refused by name, before NCCL is touched', async () => {
  const cases: Array<[() => Promise<unknown>, typeof Error, RegExp]> = [
    [() => ncclCommunicator({ mpi: {} as never }), TypeError, /mpi: expected a Communicator from mpiCommunicator\(\)/],
    [() => ncclCommunicator({ device: -1 }), RangeError, /device: expected a GPU index/],
    [() => ncclCommunicator({ device: 'one' as never }), TypeError, /device: expected a GPU index/],
    // A stand-in NCCL communicator: no communicator is open in this process.
    [
      () => distributedContrastiveLoss(new Float32Array(6), new Float32Array(6), { rows: 2, dim: 3, comm: { kind: 'nccl', rank: 0 } as unknown as NcclCommunicator }),
      Error,
      /comm: the NCCL communicator is closed \(make one with ncclCommunicator\(\)\)/,
    ],
  ];
  for (const [call, type, message] of cases) {
    const error = await call().then(() => undefined, (e: Error) => e);
    assert.instance(error, type, String(error));
    assert.match(error!.message, message);
  }
});

// --- On a GPU with NCCL: a world of one is the one-process loss ---

const gpuTest = (name: string, body: () => Promise<void>) =>
  nccl && cuda.available
    ? test(name, body)
    : test.skip(`${name} (skipped: ${!nccl ? 'no NCCL here' : `no GPU: ${cuda.reason}`})`, async () => {});

let comm: NcclCommunicator | undefined;
const openedComm = async () => {
  if (!comm) {
    process.env.INFONCE_NCCL_LIBRARY = nccl!;
    comm = await ncclCommunicator({ device: 0 });
  }
  return comm;
};

async function hostOf(m: DeviceTensor | Float32Array): Promise<Float32Array> {
  return m instanceof Float32Array ? m : m.toFloat32Array();
}

gpuTest('a world of one over NCCL equals contrastiveLoss on the GPU and the float64 reference (odd shapes, targets, fp32 and bf16)', async () => {
  const c = await openedComm();
  assert.is(c.size, 1);
  for (const [M, N, D, precision, onDevice] of [
    [1, 1, 1, 'fp32', false],
    [33, 47, 17, 'fp32', true],
    [130, 257, 65, 'bf16', true],
    [300, 300, 96, 'tf32', false],
  ] as Array<[number, number, number, Precision, boolean]>) {
    const seed = freshSeed();
    const x = gaussianMatrix(M, D, seed);
    const y = gaussianMatrix(N, D, seed + 1);
    const targets = distinctTargets(M, N, seed + 2);
    const options = { rows: M, cols: N, dim: D, targets, logScale: 2.5, symmetric: M % 2 === 1 };
    const context = `M ${M}, N ${N}, D ${D}, ${precision}, ${onDevice ? 'DeviceTensors' : 'Float32Arrays'}, seed ${seed}`;
    const dtype = precision === 'bf16' ? 'bfloat16' : 'float32';
    const [xIn, yIn] = onDevice ? [toDevice(x, { rows: M, cols: D, dtype }), toDevice(y, { rows: N, cols: D, dtype })] : [x, y];
    const sharded = await distributedContrastiveLoss(xIn, yIn, { ...options, comm: c, precision });
    const alone = await contrastiveLoss(xIn, yIn, { ...options, backend: 'cuda', precision });
    // The same kernels; only the combine's round trip (lse → exp(lse − max) → log) lies between them.
    assert.ok(Math.abs(sharded.loss - alone.loss) <= 1e-6 * Math.max(1, Math.abs(alone.loss)), `${context}: loss ${sharded.loss} vs ${alone.loss}`);
    const [sx, sy, ax, ay] = await Promise.all([sharded.gradX, sharded.gradY, alone.gradX, alone.gradY].map(hostOf));
    assert.ok(relativeError(sx!, ax!, 1e-12) < 1e-5, `${context}: gradX vs contrastiveLoss ${relativeError(sx!, ax!)}`);
    assert.ok(relativeError(sy!, ay!, 1e-12) < 1e-5, `${context}: gradY vs contrastiveLoss ${relativeError(sy!, ay!)}`);
    const want = referenceContrastiveLoss(x, y, { ...options, ...(precision === 'bf16' ? { rounding: 'bfloat16' as const } : {}) });
    assertMatchesReference(
      { ...sharded, gradX: sx!, gradY: sy! },
      want,
      context,
      precision === 'fp32' ? FP32_TOLERANCE : LOW_PRECISION_TOLERANCE,
    );
    assert.ok(c.bytesSent() === 0, 'a world of one sends nothing');
  }
});

gpuTest('a non-finite query in a world of one is the same RangeError as contrastiveLoss gives', async () => {
  const c = await openedComm();
  const x = gaussianMatrix(5, 4, 11);
  x[2 * 4 + 1] = Number.NaN;
  const error = await distributedContrastiveLoss(x, gaussianMatrix(5, 4, 12), { rows: 5, dim: 4, comm: c }).then(() => undefined, (e: Error) => e);
  assert.instance(error, RangeError, String(error));
  assert.match(error!.message, /x: expected finite values, got NaN at row 2, column 1/);
});

test.after(() => {
  comm?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
