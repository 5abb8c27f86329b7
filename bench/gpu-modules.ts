// What the GPU run (bench/gpu-first.sh, gpu-second.sh) imports, derived, never listed by hand: the package's own
// dependencies (what lib/ loads at run time, node-gyp-build included), the test runner, and the
// packages that the static imports of the test files it runs (those that exercise a GPU backend) and
// of the bench entry points name, through the closure of their relative imports; then each package's
// dependencies (and the optional ones installed, such as esbuild's platform binary). Packages loaded
// lazily by features the run does not use (the suite's data, typescript, tfjs) are not packed. bench/gpu-pack.sh packs
// exactly these folders; test/gpu-pack.test.ts imports every one of them in a Node that has nothing
// else. `node dist/bench/gpu-modules.js` prints the node_modules folders, one a line.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/** The test files the GPU run executes: those with a GPU backend in them (the host-only CUDA checks ran in CI). */
export const GPU_TEST_FILES = [
  'contract',
  'cuda',
  'cuda-panel',
  'cuda-plan',
  'determinism',
  'errors',
  'fuzz',
  'gradient-check',
  'loss',
  'nccl',
].map((name) => `test/${name}.test.ts`);

/** The bench entry points the GPU run executes (as their sources; the run uses the compiled dist/). */
export const GPU_BENCH_FILES = ['bench/gpu-smoke.ts', 'bench/cli.ts', 'bench/gpu-report.ts', 'lib/info.ts', 'bench/static-interop.ts'];

/** The test runner and the TypeScript loader the test step needs besides the imports. */
const RUNNER = ['uvu', 'tsx'];

// Static imports and re-exports that load a module: `import … from 'x'`, `import 'x'`, `export … from
// 'x'`; never `import type` (erased), nor a lazy require or import() (what the run does not reach).
const STATIC_IMPORT = /^(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;

function specifiers(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)].map((m) => m[1]!);
}

// The package a bare specifier names ('@scope/name/sub' → '@scope/name').
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(packageName(specifier));

/** The bare packages the files and their relative-import closure name (type-only imports included: harmless). */
export function importedPackages(root: string, files: string[]): string[] {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiers(join(root, file))) {
      if (specifier.startsWith('.')) {
        const target = relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts');
        if (existsSync(join(root, target))) visit(target);
      } else if (!isBuiltin(specifier)) packages.add(packageName(specifier));
    }
  };
  files.forEach(visit);
  return [...packages].sort();
}

// The folder node would load `name` from, seen from the package folder `from` (node_modules upward).
function packageFolder(root: string, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(root, candidate, 'package.json'))) return candidate;
    if (dir === '.' || dir === '') return undefined;
  }
}

/**
 * The node_modules folders (relative to `root`) of `names` and of everything they depend on; the
 * optional dependencies where installed. A required one that is missing is an error.
 */
export function packageClosure(root: string, names: string[]): string[] {
  const folders = new Set<string>();
  const visit = (from: string, name: string, optional: boolean) => {
    const folder = packageFolder(root, from, name);
    if (!folder) {
      if (optional) return;
      throw new Error(`${name} (needed by ${from === '.' ? 'the GPU run' : from}) is not installed: run npm ci first`);
    }
    if (folders.has(folder)) return;
    folders.add(folder);
    const manifest = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(folder, dependency, false);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) visit(folder, dependency, true);
  };
  for (const name of names) visit('.', name, false);
  return [...folders].sort();
}

/** Everything bench/gpu-pack.sh packs from node_modules. */
export function gpuRunModules(root: string): { packages: string[]; folders: string[] } {
  const own = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
  const packages = [...new Set([...own, ...importedPackages(root, [...GPU_TEST_FILES, ...GPU_BENCH_FILES]), ...RUNNER])].sort();
  return { packages, folders: packageClosure(root, packages) };
}

/** The uvu pattern (over file names in test/) of GPU_TEST_FILES. */
export function gpuTestPattern(): string {
  return `^(${GPU_TEST_FILES.map((f) => f.replace(/^test\//, '').replace(/\.test\.ts$/, '')).join('|')})\\.test\\.ts$`;
}

// `node dist/bench/gpu-modules.js`: the folders, one a line; with --test-pattern, the uvu pattern.
if (process.argv[1] && /gpu-modules\.(js|ts)$/.test(process.argv[1])) {
  const root = resolve(dirname(process.argv[1]), process.argv[1].endsWith('.ts') ? '..' : '../..');
  if (process.argv.includes('--test-pattern')) console.log(gpuTestPattern());
  else for (const folder of gpuRunModules(root).folders) console.log(folder);
}
