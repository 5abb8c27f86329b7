// Which GPUs a build compiles the CUDA backend for (cmake/cuda_architectures.cmake, run by CMake in
// script mode, with a stand-in nvidia-smi): all of them by default (the platform package, CI), the
// machine's own in a user's source build, or the list INFONCE_CUDA_ARCHITECTURES names.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('CUDA architectures');
const script = join(packageRoot(), 'cmake', 'print_cuda_architectures.cmake');
const work = mkdtempSync(join(tmpdir(), 'infonce-archs-'));
const ALL = '75-real;80-real;86-real;89-real;90-real;100-real;120-real;90-virtual';

function architectures(native: boolean, env: Record<string, string> = {}): string {
  const args = [...(native ? ['-DINFONCE_CUDA_NATIVE=ON'] : []), '-P', script];
  // A PATH with the stand-in nvidia-smi (when written) and cmake's own folder, nothing else.
  const cmake = spawnSync('sh', ['-c', 'command -v cmake'], { encoding: 'utf8' }).stdout.trim();
  const result = spawnSync(cmake, args, { encoding: 'utf8', env: { PATH: `${work}:${cmake.replace(/\/cmake$/, '')}`, ...env } });
  assert.is(result.status, 0, result.stderr);
  return result.stderr.trim();
}

const hasCmake = spawnSync('sh', ['-c', 'command -v cmake'], { stdio: 'ignore' }).status === 0;
if (!hasCmake) test.skip('(skipped: no cmake on PATH)', () => {});
else {
  test('by default, and in a source build with no GPU visible: every supported architecture and PTX', () => {
    assert.is(architectures(false), `${ALL}|every supported GPU`);
    rmSync(join(work, 'nvidia-smi'), { force: true });
    assert.is(architectures(true), `${ALL}|every supported GPU`);
  });

  test("a user's source build: the GPUs nvidia-smi reports, each once", () => {
    writeFileSync(join(work, 'nvidia-smi'), '#!/bin/sh\necho 9.0\necho 8.6\necho 9.0\n', { mode: 0o755 });
    assert.is(architectures(true), '86-real;90-real|the GPUs of this machine (nvidia-smi)');
    // Not a source build (the platform package, CI): all, even with GPUs present.
    assert.is(architectures(false), `${ALL}|every supported GPU`);
  });

  // Whether the backend is built at all (cmake/cuda_wanted.cmake): a user's source build only with a GPU.
  const wanted = (args: string[], env: Record<string, string> = {}) => {
    const cmake = spawnSync('sh', ['-c', 'command -v cmake'], { encoding: 'utf8' }).stdout.trim();
    const result = spawnSync(cmake, [...args, '-P', join(packageRoot(), 'cmake', 'print_cuda_wanted.cmake')], {
      encoding: 'utf8',
      env: { PATH: `${work}:${cmake.replace(/\/cmake$/, '')}`, ...env },
    });
    assert.is(result.status, 0, result.stderr);
    return result.stderr.trim();
  };

  test("a user's source build compiles CUDA only when nvidia-smi shows a GPU, or INFONCE_CUDA=1 asks", () => {
    rmSync(join(work, 'nvidia-smi'), { force: true });
    assert.is(wanted(['-DINFONCE_CUDA_NATIVE=ON']), 'OFF|no GPU visible (nvidia-smi); INFONCE_CUDA=1 builds it anyway');
    writeFileSync(join(work, 'nvidia-smi'), '#!/bin/sh\nexit 9\n', { mode: 0o755 }); // a driver that fails
    assert.is(wanted(['-DINFONCE_CUDA_NATIVE=ON']), 'OFF|no GPU visible (nvidia-smi); INFONCE_CUDA=1 builds it anyway');
    writeFileSync(join(work, 'nvidia-smi'), '#!/bin/sh\necho "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)"\n', { mode: 0o755 });
    assert.is(wanted(['-DINFONCE_CUDA_NATIVE=ON']), 'ON|a GPU is visible (nvidia-smi)');
    rmSync(join(work, 'nvidia-smi'));
    assert.is(wanted(['-DINFONCE_CUDA_NATIVE=ON'], { INFONCE_CUDA: '1' }), 'ON|INFONCE_CUDA=1');
    assert.is(wanted(['-DINFONCE_CUDA_NATIVE=ON', '-DINFONCE_CUDA=ON']), 'ON|INFONCE_CUDA=1');
    assert.is(wanted([], { INFONCE_CUDA: '0' }), 'OFF|INFONCE_CUDA=0');
    // Not a user's source build (a developer's build:native): nvcc decides, as before.
    assert.is(wanted([]), 'ON|nvcc found');
  });

  test('INFONCE_CUDA_ARCHITECTURES names the list, over the GPUs present', () => {
    assert.is(architectures(true, { INFONCE_CUDA_ARCHITECTURES: '80-real;90-virtual' }), '80-real;90-virtual|INFONCE_CUDA_ARCHITECTURES');
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
