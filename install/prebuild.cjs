#!/usr/bin/env node
// Makes the prebuilt binaries that `npm pack` ships (prebuildify has no cmake-js backend, so this is
// the small script that puts cmake-js output where node-gyp-build looks):
//   node install/prebuild.cjs        the CPU addon → prebuilds/<platform>-<arch>/infonce.napi[.glibc].node,
//                                    and beside it the MPI backend infonce_mpi.so where an Open MPI is found
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

// The MPI backend, where this machine has an MPI to build it against (Debian 12: Open MPI 4.1, whose
// libmpi.so.40 Open MPI 3.0 to 5.x all provide): the addon opens it from its own folder. Only Open
// MPI's: MPICH names its library libmpi.so.12, and its users rebuild from source (the loader says so).
if (!cuda) {
  const mpi = path.join(out, 'Release', 'infonce_mpi.so');
  const mpiDestination = path.join(path.dirname(destination), 'infonce_mpi.so');
  fs.rmSync(mpiDestination, { force: true });
  const needed = fs.existsSync(mpi) ? spawnSync('readelf', ['-d', mpi], { encoding: 'utf8' }).stdout || '' : '';
  if (/\[libmpi\.so\.40\]/.test(needed)) {
    fs.copyFileSync(mpi, mpiDestination);
    if (process.platform === 'linux') run('strip', ['--strip-unneeded', mpiDestination]);
    console.log(
      `prebuild: ${path.relative(root, mpiDestination)}, ${(fs.statSync(mpiDestination).size / 1024).toFixed(0)} KiB, for Open MPI ` +
        `(libmpi.so.40), needs glibc ≥ ${newestVersion(mpiDestination, 'GLIBC')}`,
    );
  } else {
    console.log(`prebuild: no Open MPI backend (${fs.existsSync(mpi) ? 'built against another MPI' : 'no MPI found'}): the package's distributed loss will ask for a source build`);
  }
}
