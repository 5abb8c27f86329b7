// The CUDA kernels' resources, read from ptxas on a machine without a GPU: every translation unit of
// native/cuda compiled for every architecture the package ships, and each kernel held to the budget
// in native/cuda/resource_budgets.json (registers, spills, stack); the panel kernels' PTX must load
// their fragments with ldmatrix (no scalar 16-bit shared loads) and stage with cp.async; their
// shared memory must fit the per-block and per-SM limits that their occupancy assumes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { addon, packageRoot } from '../lib/native.js';

const test = suite('cuda resource budgets');
const root = packageRoot();
const budgets = JSON.parse(readFileSync(join(root, 'native/cuda/resource_budgets.json'), 'utf8')) as {
  architectures: string[];
  kernels: Record<string, { registers: number; spillBytes: number; stackBytes: number }>;
  sharedMemory: { perBlockLimit: number; perMultiprocessor: Record<string, number> };
};

// The nvcc CMakeLists.txt would find (CUDACXX, the usual place, then PATH).
const nvcc = [process.env.CUDACXX, '/usr/local/cuda/bin/nvcc', 'nvcc'].find(
  (candidate) => candidate && spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0,
);

const flags = ['-std=c++17', '--expt-relaxed-constexpr', '-O3', '-I', join(root, 'native/include'), '-I', join(root, 'native/cuda')];

function run(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

// A kernel's name from its mangled one: the <length><identifier> that ends in "Kernel".
function kernelName(mangled: string): string {
  const end = mangled.indexOf('Kernel') + 'Kernel'.length;
  for (let length = 6; length < 64; length++)
    if (mangled.slice(end - length - String(length).length, end - length) === String(length)) return mangled.slice(end - length, end);
  return mangled;
}

interface Usage {
  kernel: string;
  arch: string;
  registers: number;
  spillBytes: number;
  stackBytes: number;
}

function parsePtxasReport(output: string): Usage[] {
  const usages: Usage[] = [];
  let current: Usage | undefined;
  for (const line of output.split('\n')) {
    const entry = /Compiling entry function '([^']+)' for '(sm_\d+a?)'/.exec(line);
    if (entry) {
      current = { kernel: kernelName(entry[1]!), arch: entry[2]!, registers: 0, spillBytes: 0, stackBytes: 0 };
      usages.push(current);
      continue;
    }
    const frame = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (frame && current) {
      current.stackBytes = Math.max(current.stackBytes, Number(frame[1]));
      current.spillBytes = Math.max(current.spillBytes, Number(frame[2]), Number(frame[3]));
    }
    const used = /Used (\d+) registers/.exec(line);
    if (used && current) current.registers = Math.max(current.registers, Number(used[1]));
  }
  return usages;
}

if (!nvcc) {
  test.skip('every kernel within its ptxas budget (skipped: no nvcc here)', () => {});
} else {
  // Every translation unit of the backend, in every room (tiles/, panels/, sm90a/, sm100a/), and the
  // development harnesses (dev/).
  const sources = readdirSync(join(root, 'native/cuda'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.cu'))
    .sort();
  const work = mkdtempSync(join(tmpdir(), 'infonce-ptxas-'));
  const gencodes = budgets.architectures.flatMap((sm) => ['-gencode', `arch=compute_${sm.slice(3)},code=${sm}`]);
  // Two compiles at a time (this machine's cores); each runs ptxas for every architecture.
  const reports = new Map<string, Promise<{ status: number | null; output: string }>>();
  const queue = [...sources];
  // These compiles take minutes on 2 cores: each one done is said on stderr, with an estimate of the rest.
  const started = Date.now();
  let done = 0;
  const compileNext = async (): Promise<void> => {
    const source = queue.shift();
    if (!source) return;
    const args = [...flags, '-c', '-Xptxas', '-v', ...gencodes, join(root, 'native/cuda', source), '-o', join(work, `${source.replaceAll('/', '-')}.o`)];
    const result = run(nvcc, args);
    reports.set(source, result);
    await result;
    const seconds = (Date.now() - started) / 1000;
    done++;
    process.stderr.write(
      `  cuda budgets: ${source} compiled for ${budgets.architectures.length} architectures (${done} of ${sources.length}, ` +
        `${seconds.toFixed(0)} s${done < sources.length ? `, about ${((seconds / done) * (sources.length - done)).toFixed(0)} s left` : ''})\n`,
    );
    return compileNext();
  };
  const compiled = Promise.all([compileNext(), compileNext()]);

  test(`every kernel of ${sources.length} translation units within its budget on ${budgets.architectures.join(', ')}`, async () => {
    await compiled;
    const seen = new Set<string>();
    for (const source of sources) {
      const { status, output } = await reports.get(source)!;
      assert.is(status, 0, `${source} did not compile:\n${output.slice(-3000)}`);
      assert.not.match(output, /C75\d\d|warning/i, `${source}: ptxas warned:\n${output.slice(-2000)}`);
      for (const u of parsePtxasReport(output)) {
        const budget = budgets.kernels[u.kernel];
        assert.ok(budget, `${u.kernel} (${source}) has no budget in native/cuda/resource_budgets.json`);
        const where = `${u.kernel} on ${u.arch} (${source})`;
        assert.ok(u.registers <= budget!.registers, `${where}: ${u.registers} registers, budget ${budget!.registers}`);
        assert.ok(u.spillBytes <= budget!.spillBytes, `${where}: ${u.spillBytes} bytes of spills, budget ${budget!.spillBytes}`);
        assert.ok(u.stackBytes <= budget!.stackBytes, `${where}: ${u.stackBytes} bytes of stack, budget ${budget!.stackBytes}`);
        seen.add(`${u.kernel}/${u.arch}`);
      }
    }
    for (const kernel of Object.keys(budgets.kernels))
      for (const arch of budgets.architectures) assert.ok(seen.has(`${kernel}/${arch}`), `${kernel} was not compiled for ${arch}`);
  });

  test('the panel kernels load fragments with ldmatrix, stage with cp.async, multiply with mma.sync (sm_80 PTX)', async () => {
    const ptx = join(work, 'panel_gradients.ptx');
    const { status, output } = await run(nvcc, [...flags, '-ptx', '-arch=compute_80', join(root, 'native/cuda/panels/panel_gradients.cu'), '-o', ptx]);
    assert.is(status, 0, output);
    const text = readFileSync(ptx, 'utf8');
    const entries = [...text.matchAll(/\.entry (\S+)\(([\s\S]*?)\n\}/g)].map((m) => ({ name: kernelName(m[1]!), body: m[2]! }));
    const gemms = entries.filter((e) => /gradientTermsKernel|rowGradientKernel|columnGradientKernel/.test(e.name));
    assert.is(gemms.length, 6, 'three GEMM kernels for bf16 and for fp16');
    for (const e of gemms) {
      assert.match(e.body, /ldmatrix\.sync\.aligned\.m8n8\.x4(\.trans)?\.shared\.b16/, `${e.name}: no ldmatrix`);
      assert.match(e.body, /cp\.async\.cg\.shared\.global/, `${e.name}: no cp.async`);
      assert.match(e.body, /mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.(bf16|f16)/, `${e.name}: no mma.sync`);
      assert.not.match(e.body, /ld\.shared\.(u16|b16|f16)\b/, `${e.name}: scalar 16-bit shared loads`);
    }
    // The transposed operands (Gᵀ, and V, U stored [k][n]) use the .trans form.
    for (const e of gemms.filter((g) => /rowGradientKernel|columnGradientKernel/.test(g.name)))
      assert.match(e.body, /ldmatrix\.sync\.aligned\.m8n8\.x4\.trans/, `${e.name}: no ldmatrix .trans`);
  });

  // CMake builds the sm_90a kernels when 90 is among the architectures and the sm_100a ones when 100 is,
  // independently: the orchestration must compile with either, both or neither.
  test('the orchestration compiles with the sm_90a loop, the sm_100a loop, both or neither built in', async () => {
    const combinations = [[], ['-DINFONCE_HAVE_SM90A=1'], ['-DINFONCE_HAVE_SM100A=1'], ['-DINFONCE_HAVE_SM90A=1', '-DINFONCE_HAVE_SM100A=1']];
    const results = await Promise.all(
      combinations.map((defines, k) =>
        run(nvcc, [...flags, ...defines, '-arch=sm_80', '-c', join(root, 'native/cuda/loss_orchestration.cu'), '-o', join(work, `orchestration-${k}.o`)]),
      ),
    );
    results.forEach(({ status, output }, k) => assert.is(status, 0, `with ${combinations[k]!.join(' ') || 'neither'}:\n${output.slice(-2000)}`));
  });

  // The sm_90a main loop and the panel kernels built on it: their check harness and the loss's kernels.
  const sm90Sources = [
    { file: 'native/cuda/dev/wgmma_check.cu', gemms: /^wgmmaCheckKernel$/, count: 6, transposes: ['00', '01', '11'] },
    { file: 'native/cuda/sm90a/panel_gradients_sm90.cu', gemms: /^sm90(Terms|RowGradient|ColumnGradient)Kernel$/, count: 6, transposes: ['00', '01', '11'] },
    { file: 'native/cuda/sm90a/statistics_pass_sm90.cu', gemms: /^sm90StatisticsKernel$/, count: 2, transposes: ['00'] },
  ];
  for (const { file, gemms, count, transposes } of sm90Sources)
    test(`the sm_90a main loop (panel_gemm_sm90.cuh) in ${file}: TMA, mbarriers and wgmma in its PTX; within budgets on sm_90a`, async () => {
      const source = join(root, file);
      const ptx = join(work, `${file.replace(/\W/g, '-')}.ptx`);
      const compiled = await run(nvcc, [...flags, '-ptx', '-gencode', 'arch=compute_90a,code=compute_90a', source, '-o', ptx]);
      assert.is(compiled.status, 0, compiled.output);
      // Each entry's text runs to the next entry (its inline asm has braces of its own at line starts).
      const entries = readFileSync(ptx, 'utf8').split(/\.entry /).slice(1).map((body) => ({ name: kernelName(body.slice(0, body.indexOf('('))), body }));
      const kernels = entries.filter((e) => gemms.test(e.name));
      assert.is(kernels.length, count, 'the GEMM kernels for bf16 and fp16, each operand layout');
      for (const k of kernels) {
        assert.match(k.body, /wgmma\.mma_async\.sync\.aligned\.m64n128k16\.f32\.(bf16\.bf16|f16\.f16)/, `${k.name}: no wgmma.mma_async`);
        assert.match(k.body, /cp\.async\.bulk\.tensor\.2d\.shared::cluster\.global\.mbarrier::complete_tx::bytes/, `${k.name}: no TMA copy`);
        assert.match(k.body, /mbarrier\.try_wait\.parity/, `${k.name}: no mbarrier wait`);
        assert.match(k.body, /wgmma\.fence\.sync\.aligned/, `${k.name}: no wgmma.fence`);
        assert.match(k.body, /wgmma\.wait_group\.sync\.aligned/, `${k.name}: no wgmma.wait_group`);
        assert.not.match(k.body, /ld\.shared\.(u16|b16|f16)\b|ldmatrix/, `${k.name}: operands must reach the tensor cores from shared memory, not through registers`);
      }
      const all = kernels.map((k) => k.body).join('\n');
      assert.match(all, /\.f32\.bf16\.bf16/);
      assert.match(all, /\.f32\.f16\.f16/);
      // The MN-major operands (V and U along D, Gᵀ) use wgmma's transposed forms: trans-b alone, and both.
      const seen = new Set([...all.matchAll(/wgmma\.mma_async[^;]*?, (\d), (\d);/g)].map((m) => `${m[1]}${m[2]}`));
      assert.equal([...seen].sort(), transposes);
      const machine = await run(nvcc, [...flags, '-c', '-Xptxas', '-v', '-gencode', 'arch=compute_90a,code=sm_90a', source, '-o', join(work, `${file.replace(/\W/g, '-')}.o`)]);
      assert.is(machine.status, 0, machine.output);
      // C7520 and its kin: ptxas serialising wgmma (a branch it cannot prove uniform, a register dependence).
      assert.not.match(machine.output, /C75\d\d|warning/i, `ptxas warned:\n${machine.output.slice(-2000)}`);
      const usages = parsePtxasReport(machine.output);
      assert.ok(usages.length >= count);
      for (const u of usages) {
        assert.is(u.arch, 'sm_90a');
        const budget = budgets.kernels[u.kernel];
        assert.ok(budget, `${u.kernel} (${file}) has no budget in native/cuda/resource_budgets.json`);
        assert.ok(u.registers <= budget!.registers && u.spillBytes <= budget!.spillBytes && u.stackBytes <= budget!.stackBytes,
          `${u.kernel} on sm_90a: ${u.registers} registers (budget ${budget!.registers}), ${u.spillBytes} bytes of spills, ${u.stackBytes} of stack`);
      }
    });

  // The sm_100a main loop (tcgen05 with TMEM accumulators): its check harness and the panel gradient
  // kernels on it.
  const sm100Sources = [
    { file: 'native/cuda/dev/tcgen05_check.cu', gemms: /^tcgen05CheckKernel$/, count: 6 },
    { file: 'native/cuda/sm100a/panel_gradients_sm100.cu', gemms: /^sm100(Terms|RowGradient|ColumnGradient)Kernel$/, count: 6 },
    { file: 'native/cuda/sm100a/statistics_pass_sm100.cu', gemms: /^sm100StatisticsKernel$/, count: 2 },
  ];
  for (const { file, gemms, count } of sm100Sources)
    test(`the sm_100a main loop (panel_gemm_sm100.cuh) in ${file}: TMA, mbarriers, tcgen05 and TMEM in its PTX; within budgets on sm_100a`, async () => {
      const source = join(root, file);
      const ptx = join(work, `${file.replace(/\W/g, '-')}.ptx`);
      const compiled = await run(nvcc, [...flags, '-ptx', '-gencode', 'arch=compute_100a,code=compute_100a', source, '-o', ptx]);
      assert.is(compiled.status, 0, compiled.output);
      const entries = readFileSync(ptx, 'utf8').split(/\.entry /).slice(1).map((body) => ({ name: kernelName(body.slice(0, body.indexOf('('))), body }));
      const kernels = entries.filter((e) => gemms.test(e.name));
      assert.is(kernels.length, count, 'the GEMM kernels for bf16 and fp16, each operand layout');
      for (const k of kernels) {
        for (const [pattern, what] of [
          [/tcgen05\.alloc\.cta_group::1\.sync\.aligned\.shared::cta\.b32/, 'TMEM allocation'],
          [/tcgen05\.dealloc\.cta_group::1/, 'TMEM release'],
          [/tcgen05\.mma\.cta_group::1\.kind::f16/, 'tcgen05.mma'],
          [/tcgen05\.commit\.cta_group::1\.mbarrier::arrive::one/, 'tcgen05.commit to an mbarrier'],
          [/tcgen05\.ld\.sync\.aligned\.32x32b\.x64\.b32/, 'the accumulators read from TMEM'],
          [/tcgen05\.wait::ld/, 'a wait for the TMEM loads'],
          [/cp\.async\.bulk\.tensor\.2d\.shared::cluster\.global\.mbarrier::complete_tx::bytes/, 'TMA copy'],
          [/mbarrier\.try_wait\.parity/, 'mbarrier wait'],
        ] as const)
          assert.match(k.body, pattern, `${k.name}: no ${what}`);
        assert.not.match(k.body, /ldmatrix|mma\.sync|wgmma/, `${k.name}: the operands must reach the tensor cores from shared memory by tcgen05 alone`);
      }
      const machine = await run(nvcc, [...flags, '-c', '-Xptxas', '-v', '-gencode', 'arch=compute_100a,code=sm_100a', source, '-o', join(work, `${file.replace(/\W/g, '-')}.o`)]);
      assert.is(machine.status, 0, machine.output);
      assert.not.match(machine.output, /C75\d\d|warning/i, `ptxas warned:\n${machine.output.slice(-2000)}`);
      const usages = parsePtxasReport(machine.output);
      assert.is(usages.length, count);
      for (const u of usages) {
        assert.is(u.arch, 'sm_100a');
        const budget = budgets.kernels[u.kernel];
        assert.ok(budget, `${u.kernel} has no budget in native/cuda/resource_budgets.json`);
        assert.ok(u.registers <= budget!.registers && u.spillBytes <= budget!.spillBytes && u.stackBytes <= budget!.stackBytes,
          `${u.kernel} on sm_100a: ${u.registers} registers (budget ${budget!.registers}), ${u.spillBytes} bytes of spills, ${u.stackBytes} of stack`);
      }
    });

  test('the panel kernels\' shared memory fits a block on sm_86/89 and two dU/dV blocks an SM on sm_80 and sm_90', () => {
    const shared = addon.cudaPanelPlan({ rows: 1, cols: 1, dim: 1, memoryBudget: 1 << 20 }).sharedBytes;
    const reservedPerBlock = 1024; // the CUDA runtime keeps 1 KiB of each block's shared memory
    for (const bytes of [shared.terms, shared.rowGradient, shared.columnGradient]) assert.ok(bytes <= budgets.sharedMemory.perBlockLimit);
    for (const [arch, perSm] of Object.entries(budgets.sharedMemory.perMultiprocessor))
      for (const bytes of [shared.rowGradient, shared.columnGradient])
        assert.ok(2 * (bytes + reservedPerBlock) <= perSm, `${arch}: two blocks of ${bytes} bytes do not fit ${perSm}`);
  });

  test.after(() => {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  });
}

test.run();
