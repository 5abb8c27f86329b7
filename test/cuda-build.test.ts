// The CUDA backend as built here: a shared object of its own that needs only the NVIDIA driver at
// run time (the CUDA runtime linked in, libcuda found by the runtime with dlopen, never linked).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { backendInfo } from '../lib/info.js';
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
  if (cuobjdump)
    test("backendInfo().cuda.built lists the machine code cuobjdump finds in infonce_cuda.so, and the loops for it", () => {
      const built = backendInfo().cuda.built;
      assert.ok(built, 'backendInfo().cuda.built is null although infonce_cuda.so is here');
      const elf = spawnSync(cuobjdump, ['--list-elf', library], { encoding: 'utf8' }).stdout;
      const inElf = [...new Set([...elf.matchAll(/\.(sm_\d+a?)\.cubin/g)].map((m) => m[1]!))].sort();
      assert.equal(built!.architectures.filter((a) => a.startsWith('sm_')).sort(), inElf);
      const ptx = spawnSync(cuobjdump, ['--list-ptx', library], { encoding: 'utf8' }).stdout;
      for (const a of built!.architectures.filter((a) => a.startsWith('compute_')))
        assert.match(ptx, new RegExp(`\\.sm_${a.slice('compute_'.length)}\\.ptx`), `${a} listed, no such PTX`);
      assert.ok(built!.mainLoops.includes('tiles') && built!.mainLoops.includes('sm80'), built!.mainLoops.join(' '));
      assert.is(built!.mainLoops.includes('sm90a'), inElf.includes('sm_90a'), 'the sm90a loop listed iff sm_90a code is in the library');
      assert.is(built!.mainLoops.includes('sm100a'), inElf.includes('sm_100a'), 'the sm100a loop listed iff sm_100a code is in the library');
    });
  else test.skip('backendInfo().cuda.built matches the library (skipped: no cuobjdump)', () => {});
  // Without cuobjdump (this toolkit has none): the list against the architectures CMake built for.
  const cache = join(packageRoot(), 'build', 'CMakeCache.txt');
  const configured = existsSync(cache) ? /^INFONCE_CUDA_ARCHITECTURES:STRING=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1] : undefined;
  if (configured)
    test(`backendInfo().cuda.built lists the architectures CMake built for (${configured}) and the loops they hold`, () => {
      const built = backendInfo().cuda.built;
      assert.ok(built, 'backendInfo().cuda.built is null although infonce_cuda.so is here');
      const entries = configured.split(';');
      const expected = entries.flatMap((e) => {
        const [arch, kind] = e.split('-');
        return kind === 'virtual' ? [`compute_${arch}`] : kind === 'real' ? [`sm_${arch}`] : [`sm_${arch}`, `compute_${arch}`];
      });
      const hopper = entries.some((e) => e.startsWith('90'));
      const blackwell = entries.some((e) => e.startsWith('100'));
      assert.equal(built!.architectures, [...expected, ...(hopper ? ['sm_90a'] : []), ...(blackwell ? ['sm_100a'] : [])]);
      assert.equal(built!.mainLoops, ['tiles', 'sm80', ...(hopper ? ['sm90a'] : []), ...(blackwell ? ['sm100a'] : [])]);
    });
}

test.run();
