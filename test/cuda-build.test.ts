// The CUDA backend as built here: a shared object of its own that needs only the NVIDIA driver at
// run time (the CUDA runtime linked in, libcuda found by the runtime with dlopen, never linked).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('cuda build');
const library = join(packageRoot(), 'build', 'Release', 'infonce_cuda.so');
const readelf = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;

if (!existsSync(library)) {
  test.skip(`infonce_cuda.so links no CUDA library (skipped: not built here: no nvcc, no GPU visible to a source build without INFONCE_CUDA=1, or INFONCE_CUDA=0)`, () => {});
} else if (!readelf) {
  test.skip('infonce_cuda.so links no CUDA library (skipped: no readelf)', () => {});
} else {
  test('infonce_cuda.so needs neither libcudart nor libcuda (readelf -d)', () => {
    const dynamic = spawnSync('readelf', ['-d', library], { encoding: 'utf8' });
    assert.is(dynamic.status, 0, dynamic.stderr);
    const needed = [...dynamic.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    assert.ok(needed.length > 0, 'readelf listed no NEEDED entries');
    assert.not.ok(needed.some((n) => /libcudart|libcuda\./.test(n)), `needs ${needed.join(', ')}`);
  });
  const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
  if (has('nm'))
    test('infonce_cuda.so exports its C table (and hides its kernels)', () => {
      const symbols = spawnSync('nm', ['-D', '--defined-only', library], { encoding: 'utf8' }).stdout;
      assert.match(symbols, / T infonce_cuda_api$/m);
      assert.not.match(symbols, /statisticsKernel|gradientKernel/);
    });
  else test.skip('infonce_cuda.so exports its C table (skipped: no nm)', () => {});
  const cuobjdump = ['/usr/local/cuda/bin/cuobjdump', 'cuobjdump'].find(has);
  if (cuobjdump)
    test('infonce_cuda.so holds machine code for sm_75, 80, 86, 89, 90, 100 and 120, and PTX', () => {
      const elf = spawnSync(cuobjdump, ['--list-elf', library], { encoding: 'utf8' }).stdout;
      for (const arch of ['sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_90', 'sm_100', 'sm_120'])
        assert.match(elf, new RegExp(`\\.${arch}\\.`), `no ${arch} code`);
      assert.match(spawnSync(cuobjdump, ['--list-ptx', library], { encoding: 'utf8' }).stdout, /sm_90/, 'no PTX');
    });
  else test.skip('infonce_cuda.so holds sm_75..120 code and PTX (skipped: no cuobjdump in this CUDA toolkit)', () => {});
}

test.run();
