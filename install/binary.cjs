// Which compiled addon to load, shared by the install script and the runtime loader (lib/native.ts):
// a prebuild under prebuilds/<platform>-<arch>/ that matches this Node, unless the install step
// built from source (it leaves a marker beside that build). A stale build/ from some earlier source
// build never shadows a matching prebuild: the install step removes the marker when it picks the
// prebuild. CommonJS, because the install step runs before the TypeScript is compiled.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const FROM_SOURCE_MARKER = '.infonce-built-from-source';

function localBuild(root) {
  const file = path.join(root, 'build', 'Release', 'infonce.node');
  return fs.existsSync(file) ? file : null;
}

function builtFromSource(root) {
  return fs.existsSync(path.join(root, 'build', 'Release', FROM_SOURCE_MARKER));
}

// The best prebuild for this platform, architecture and libc (node-gyp-build's own tag rules).
function matchingPrebuild(root) {
  const nodeGypBuild = require('node-gyp-build');
  const libc = process.platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const folder = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let files;
  try {
    files = fs.readdirSync(folder);
  } catch {
    return null;
  }
  const candidates = files
    .map(nodeGypBuild.parseTags)
    .filter((tags) => tags && tags.napi && (!tags.libc || process.platform !== 'linux' || tags.libc === libc))
    .sort(nodeGypBuild.compareTags('node'));
  return candidates.length ? path.join(folder, candidates[0].file) : null;
}

// The addon this installation should load, and why; null when there is none.
function chooseBinary(root) {
  const build = localBuild(root);
  if (build && builtFromSource(root)) return { file: build, origin: 'built from source' };
  const prebuild = matchingPrebuild(root);
  if (prebuild) return { file: prebuild, origin: 'prebuild' };
  if (build) return { file: build, origin: 'local build' };
  return null;
}

module.exports = { chooseBinary, matchingPrebuild, localBuild, FROM_SOURCE_MARKER };
