#!/usr/bin/env node
// Makes the prebuilt binaries that `npm pack` ships (prebuildify has no cmake-js backend, so this is
// the small script that puts cmake-js output where node-gyp-build looks):
//   node install/prebuild.cjs        the CPU addon → prebuilds/<platform>-<arch>/infonce.napi[.glibc].node
//   node install/prebuild.cjs cuda   the CUDA backend → packages/<platform>-<arch>-cuda/infonce_cuda.so
// Built for any CPU of the architecture (no -march=native; the wide kernels are chosen at run time),
// with re-versioned symbols bound to their oldest versions (native/compat), stripped; it prints the
// newest glibc and libstdc++ symbol versions the binary needs.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const target = `${process.platform}-${process.arch}`;
const cuda = process.argv[2] === 'cuda';
const out = path.join(root, cuda ? 'build-prebuild-cuda' : 'build-prebuild');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`prebuild: ${command} ${args.join(' ')} failed`);
    process.exit(result.status || 1);
  }
}

// The newest version of `library` (GLIBC, GLIBCXX) among the symbols the binary imports.
function newestVersion(file, library) {
  const symbols = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  if (symbols.status !== 0) return 'unknown (no objdump)';
  const pattern = new RegExp(`\\(${library}_(\\d+)\\.(\\d+)(?:\\.(\\d+))?\\)`, 'g');
  const versions = [...symbols.stdout.matchAll(pattern)].map((m) => [+m[1], +m[2], +(m[3] || 0)]);
  versions.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
  return versions.length ? versions[0].join('.').replace(/\.0$/, '') : 'none';
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
run(process.execPath, [
  cmakeJs,
  'compile',
  '--out',
  out,
  `--CDINFONCE_CUDA=${cuda ? 'ON' : 'OFF'}`,
  '--CDINFONCE_PORTABLE_BINARY=ON',
  '--CDCMAKE_BUILD_TYPE=Release',
]);

const built = path.join(out, 'Release', cuda ? 'infonce_cuda.so' : 'infonce.node');
let destination;
if (cuda) {
  destination = path.join(root, 'packages', `${target}-cuda`, 'infonce_cuda.so');
} else {
  const libc = process.platform === 'linux' ? (fs.existsSync('/etc/alpine-release') ? '.musl' : '.glibc') : '';
  destination = path.join(root, 'prebuilds', target, `infonce.napi${libc}.node`);
}
fs.mkdirSync(path.dirname(destination), { recursive: true });
fs.copyFileSync(built, destination);
if (process.platform === 'linux') run('strip', ['--strip-unneeded', destination]);
const size = fs.statSync(destination).size;
console.log(
  `prebuild: ${path.relative(root, destination)}, ${(size / 2 ** 20).toFixed(1)} MiB, needs glibc ≥ ` +
    `${newestVersion(destination, 'GLIBC')}, libstdc++ GLIBCXX ≥ ${newestVersion(destination, 'GLIBCXX')}`,
);
