// The README's Layout table against the tree, so that it cannot drift: every path it names exists,
// and every folder of the repository (the top level, and two levels down in native/, lib/ and
// bench/) is named, by its path or, inside its parent's row, as `name/`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { packageRoot } from '../lib/native.js';

const test = suite('readme layout');
const root = packageRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Layout\n'), readme.indexOf('\n## Contributing'));
// Each row: the paths of its first cell, and the whole row's text.
const rows = section
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) => ({ paths: [...line.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), text: line }));

// The repository's tracked folders (a clone's, without build output), up to `depth` parts.
const tracked = existsSync(join(root, '.git'))
  ? execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => f && existsSync(join(root, f)))
  : [];
function folders(depth: number): string[] {
  const out = new Set<string>();
  for (const file of tracked) {
    const parts = file.split('/');
    for (let d = 1; d <= Math.min(depth, parts.length - 1); d++) out.add(parts.slice(0, d).join('/'));
  }
  return [...out].sort();
}

test('the Layout table has rows, and every path it names exists', () => {
  assert.ok(rows.length > 10, `only ${rows.length} rows found under ## Layout`);
  for (const { paths } of rows) for (const path of paths) assert.ok(existsSync(join(root, path)), `the Layout names ${path}, which does not exist`);
});

if (tracked.length === 0) test.skip('every folder is in the Layout table (skipped: not a git checkout)', () => {});
else
  test('every folder of the repository is in the Layout table', () => {
    const named = (folder: string) => {
      // Named itself, or through named paths inside it (native: native/cpu/, ...). Being inside a named
      // folder is not enough: lib/ is named, and a new lib/ subfolder must be named too.
      const paths = rows.flatMap((r) => r.paths.map((p) => p.replace(/\/$/, '')));
      if (paths.some((p) => p === folder || p.startsWith(folder + '/'))) return true;
      // A subfolder named inside its parent's row as `name/`.
      const parent = folder.slice(0, folder.lastIndexOf('/'));
      const name = folder.slice(folder.lastIndexOf('/') + 1);
      return parent !== '' && rows.some((r) => r.paths.some((p) => p.replace(/\/$/, '') === parent) && r.text.includes(`\`${name}/`));
    };
    const wanted = folders(3).filter((f) => {
      const depth = f.split('/').length;
      if (depth === 1) return true;
      return /^(native|lib|bench)\//.test(f) && (depth === 2 || /^native\/(cuda|include)\//.test(f));
    });
    const missing = wanted.filter((f) => !named(f));
    assert.equal(missing, [], `folders the README's Layout does not name: ${missing.join(', ')}`);
  });

test.run();
