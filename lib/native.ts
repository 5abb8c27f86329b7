// Loads the native addon and describes its surface to TypeScript. The only file that knows where
// the binary lives: a prebuild under prebuilds/<platform>-<arch>/ when one matches, else the local
// build under build/Release/ (node-gyp-build's order).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ContrastiveLossOptions, ContrastiveLossResult } from './types.js';

export interface CpuBackendInfo {
  avx512: boolean;
  avx2: boolean;
  avx512bf16: boolean;
  /** Hardware threads this process may use: the default thread count of the kernels. */
  threads: number;
  /** The micro-kernel family `isa: 'auto'` picks on this CPU. */
  isa: 'avx512' | 'avx2' | 'portable';
  supportedIsas: Array<'avx512' | 'avx2' | 'portable'>;
}

export interface BackendInfo {
  cpu: CpuBackendInfo;
}

interface Addon {
  contrastiveLoss(x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): Promise<ContrastiveLossResult>;
  contrastiveLossSync(x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): ContrastiveLossResult;
  backendInfo(): BackendInfo;
  defaultLogScale: number;
}

/** The package's root directory: the nearest folder above this file whose package.json names infonce. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'infonce') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('infonce: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

function load(): Addon {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => Addon;
  const root = packageRoot();
  try {
    return nodeGypBuild(root);
  } catch (cause) {
    throw new Error(
      `infonce: the native addon could not be loaded from ${root} (no prebuild for ${process.platform}-${process.arch} ` +
        `and no local build). Build it from source with \`npx cmake-js compile\` in that folder (needs cmake and a ` +
        `C++20 compiler), or reinstall with install scripts allowed.`,
      { cause },
    );
  }
}

export const addon: Addon = load();
