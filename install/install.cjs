#!/usr/bin/env node
// `npm install` step: use the prebuilt addon when one matches this platform and loads here, and
// build from source with cmake-js only when none does (or INFONCE_BUILD_FROM_SOURCE=1 asks for it).
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { matchingPrebuild, FROM_SOURCE_MARKER } = require('./binary.cjs');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'build', 'Release', FROM_SOURCE_MARKER);
const forced = /^(1|true|yes)$/i.test(process.env.INFONCE_BUILD_FROM_SOURCE || '');

// Loads a binary in a child process first: a prebuild for a newer glibc (or a broken one) must not
// take this process down, and must not be trusted.
function loads(file) {
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).backendInfo()`], { encoding: 'utf8' });
  return probe.status === 0 ? null : (probe.stderr || '').trim().split('\n').slice(-3).join(' ') || `exit ${probe.status}`;
}

function buildFromSource(reason) {
  console.log(`infonce: ${reason}; building from source with cmake-js (needs cmake >= 3.18 and a C++20 compiler;`);
  console.log('infonce: the CUDA backend is built only where nvcc is found and nvidia-smi shows a GPU, for those GPUs;');
  console.log('infonce: INFONCE_CUDA=1 builds it without a GPU, INFONCE_CUDA=0 never).');
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    console.error('infonce: cmake-js is not installed; run `npm install cmake-js` and then `npm rebuild infonce`.');
    process.exit(1);
  }
  // CUDA for the GPUs nvidia-smi shows (all of them without one; INFONCE_CUDA_ARCHITECTURES names a list).
  const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--CDINFONCE_CUDA_NATIVE=ON'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('infonce: the source build failed (see above). It needs cmake and g++ (or clang) with C++20;');
    console.error('infonce: on Debian/Ubuntu: apt-get install cmake g++.');
    process.exit(build.status || 1);
  }
  fs.writeFileSync(marker, `built from source by the install step on ${new Date().toISOString()}\n`);
}

if (forced) {
  buildFromSource('INFONCE_BUILD_FROM_SOURCE is set');
} else {
  const prebuild = matchingPrebuild(root);
  const failure = prebuild ? loads(prebuild) : null;
  if (prebuild && !failure) {
    fs.rmSync(marker, { force: true });
    console.log(`infonce: using the prebuilt addon ${path.relative(root, prebuild)}`);
  } else if (prebuild) {
    buildFromSource(`the prebuilt addon ${path.relative(root, prebuild)} does not load here (${failure})`);
  } else {
    buildFromSource(`no prebuilt addon for ${process.platform}-${process.arch}`);
  }
}
