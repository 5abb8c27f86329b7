// What the MPI tests share: why this machine cannot run them (no mpirun, or an addon built without its
// MPI backend), and the environment mpirun needs (as root, Open MPI refuses to start unless told twice).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../lib/native.js';

export function mpiUnavailable(): string | undefined {
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status !== 0)
    return 'no mpirun on PATH (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev)';
  const backend = join(packageRoot(), 'build', 'Release', 'infonce_mpi.so');
  if (!existsSync(backend)) return `the addon was built without its MPI backend (${backend}; rebuild with an MPI installed)`;
  return undefined;
}

export const mpirunEnv = { ...process.env, ...(process.getuid?.() === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } : {}) };

/**
 * `mpirun -np W node --import tsx test/<script> ...args`: its exit, output, how long it took, and the
 * JSON line each rank printed (a rank prints one `{...}` line), sorted by rank.
 */
export function mpirunRanks<T extends { rank: number }>(W: number, script: string, args: string[] = []) {
  const began = Date.now();
  const run = spawnSync('mpirun', ['--oversubscribe', '-np', String(W), process.execPath, '--import', 'tsx', join(packageRoot(), 'test', script), ...args], {
    encoding: 'utf8',
    env: mpirunEnv,
    cwd: packageRoot(),
    timeout: 120_000,
  });
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, lines: lines.sort((a, b) => a.rank - b.rank), seconds: (Date.now() - began) / 1000 };
}
