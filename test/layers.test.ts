// The layers of the design, checked on the sources: imports run one way (lib → bindings → native;
// bench → lib; tests → anything), without cycles, and the bindings see only native/include.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('layers');
const root = packageRoot();

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path, pattern) : pattern.test(name) ? [path] : [];
  });
}

// Relative module imports of a TypeScript file (static and dynamic), as repository paths.
function tsImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(root, resolve(root, dirname(file), s)).replace(/\.js$/, '.ts'));
}

test('lib never imports bench or test; bench never imports test', () => {
  for (const file of files('lib', /\.ts$/))
    for (const target of tsImports(file)) assert.not.ok(/^(bench|test)\//.test(target), `${file} imports ${target}`);
  for (const file of files('bench', /\.ts$/))
    for (const target of tsImports(file)) assert.not.ok(target.startsWith('test/'), `${file} imports ${target}`);
});

test('no import cycle among the modules of lib and bench', () => {
  const graph = new Map<string, string[]>();
  for (const file of [...files('lib', /\.ts$/), ...files('bench', /\.ts$/)]) graph.set(file, tsImports(file).filter((t) => !t.startsWith('test/')));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    assert.not.ok(state.get(file) === 'open', `import cycle: ${[...path.slice(path.indexOf(file)), file].join(' → ')}`);
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
});

test('the bindings include only native/include (and their own headers); native/include nothing below it', () => {
  for (const file of files('bindings', /\.(cc|h)$/)) {
    const includes = [...readFileSync(join(root, file), 'utf8').matchAll(/#include "([^"]+)"/g)].map((m) => m[1]!);
    for (const header of includes)
      assert.ok(
        readdirSync(join(root, 'bindings')).includes(header) || statSafe(join(root, 'native/include', header)),
        `${file} includes "${header}", which is neither a binding header nor in native/include`,
      );
  }
  for (const file of files('native/include', /\.h$/)) {
    const text = readFileSync(join(root, file), 'utf8');
    assert.not.match(text, /#include "\.\.\//, `${file} reaches outside native/include`);
  }
});

function statSafe(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

test.run();
