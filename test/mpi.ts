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
