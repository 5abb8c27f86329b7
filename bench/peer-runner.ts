// Runs the PyTorch peers (bench/peers/torch_peer.py) in a fresh Python process per measurement and
// reads their JSON. Optional: where no Python with PyTorch is found, the bench says so and goes on.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { packageRoot } from '../lib/native.js';

export interface PeerResult {
  medianSeconds: number;
  seconds: number[];
  flopsPerSecond: number;
  peakResidentBytes?: number;
  peakDeviceBytes?: number;
  /** The BLAS kernels that ran (threadpoolctl), on the CPU. */
  blas?: string[];
  torch: string;
  threads: number;
  gpu?: string;
}

export type PeerOutcome = PeerResult | { error: string; detail?: string };

export interface PeerRequest {
  what: 'naive' | 'matmul';
  /** For matmul on the CPU: PyTorch's or NumPy's (Debian's OpenBLAS). */
  library?: 'torch' | 'numpy';
  rows: number;
  cols: number;
  dim: number;
  device: 'cpu' | 'cuda';
  dtype: 'float32' | 'bfloat16' | 'float16';
  repeats: number;
  threads: number;
}

let python: string | null | undefined;

/** The first Python that imports torch: $INFONCE_PYTHON, Debian's /usr/bin/python3, then python3 on PATH. */
export function torchPython(): string | null {
  if (python !== undefined) return python;
  const candidates = [process.env.INFONCE_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  python = null;
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (probe.status === 0) {
      python = candidate;
      break;
    }
  }
  return python;
}

export async function runPeer(request: PeerRequest): Promise<PeerOutcome> {
  const interpreter = torchPython();
  if (!interpreter) return { error: 'not installed', detail: 'no python3 with PyTorch (run bench/install-peers.sh)' };
  const script = join(packageRoot(), 'bench', 'peers', 'torch_peer.py');
  const args = [
    script,
    request.what,
    `--rows=${request.rows}`,
    `--cols=${request.cols}`,
    `--dim=${request.dim}`,
    `--device=${request.device}`,
    `--dtype=${request.dtype}`,
    `--repeats=${request.repeats}`,
    `--threads=${request.threads}`,
    `--library=${request.library ?? 'torch'}`,
  ];
  // This workplace pins OpenBLAS to its Haswell kernels (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) for old
  // builds' sake; a peer runs with the kernels OpenBLAS picks for this CPU, as a user's would. The
  // threads are the bench's own.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(request.threads), OPENBLAS_NUM_THREADS: String(request.threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return new Promise((resolve) => {
    const child = spawn(interpreter, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as PeerOutcome);
      } catch {
        const killed = signal === 'SIGKILL' ? ' (killed: out of memory?)' : '';
        resolve({ error: `the peer exited with ${signal ?? code}${killed}`, detail: err.trim().split('\n').slice(-3).join(' ') });
      }
    });
  });
}

export function isPeerResult(outcome: PeerOutcome | undefined): outcome is PeerResult {
  return !!outcome && 'medianSeconds' in outcome;
}
