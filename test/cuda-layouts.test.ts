// The sm_90a main loop's shared-memory contract on a machine without a GPU: native/cuda/dev/
// layout_check.cu, built with nvcc as a host program, checks that every element wgmma reads under
// the loop's descriptors is where TMA wrote it (both operand orders, both consumers, every 16-deep
// step), and that it would notice a descriptor with its two byte offsets swapped.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('cuda sm_90a layouts');
const root = packageRoot();
const nvcc = [process.env.CUDACXX, '/usr/local/cuda/bin/nvcc', 'nvcc'].find(
  (candidate) => candidate && spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0,
);

if (!nvcc) {
  test.skip('wgmma reads every element where TMA wrote it (skipped: no nvcc here)', () => {});
} else {
  const work = mkdtempSync(join(tmpdir(), 'infonce-layouts-'));
  const program = join(work, 'layout_check');

  test('wgmma reads every element where TMA wrote it (K-major and MN-major, A and B, every step)', () => {
    const built = spawnSync(nvcc, ['-std=c++17', '--expt-relaxed-constexpr', '-I', join(root, 'native/include'), '-I', join(root, 'native/cuda'),
      join(root, 'native/cuda/dev/layout_check.cu'), '-o', program], { encoding: 'utf8' });
    assert.is(built.status, 0, built.stderr);
    const run = spawnSync(program, { encoding: 'utf8' });
    assert.is(run.status, 0, run.stdout + run.stderr);
    assert.is(run.stdout.match(/^ok /gm)?.length, 4, run.stdout);
  });

  test('the check catches a descriptor with its leading and stride byte offsets swapped', () => {
    const run = spawnSync(program, ['--swap-offsets'], { encoding: 'utf8' });
    assert.is(run.status, 1, run.stdout);
    assert.match(run.stdout, /^FAIL .*MN-major/m);
  });

  test.after(() => rmSync(work, { recursive: true, force: true }));
}

test.run();
