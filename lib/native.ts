// Loads the native addon (its surface is typed in addon-types.ts). The only file that knows where the
// binary lives: a prebuild under prebuilds/<platform>-<arch>/ when one matches, else the local build
// under build/Release/ (node-gyp-build's order).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Addon } from './addon-types.js';

export type {
  AdamWArgument,
  BackendInfo,
  BagGradients,
  BagParametersArgument,
  BagShapeArgument,
  CpuBackendInfo,
  CudaBackendInfo,
  CudaDeviceInfo,
  CudaLaunchPlan,
  CudaPanelPlan,
} from './addon-types.js';

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

/** This package's version (package.json). */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
}

// The CUDA backend ships as a package of its own (a CPU user never downloads it): if it is installed,
// tell the addon where its library is. Nothing is loaded until a GPU is asked for.
function useCudaPackage(addon: Addon): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  try {
    const manifest = createRequire(import.meta.url).resolve('@infonce/linux-x64-cuda/package.json');
    addon.setCudaLibraryPath(join(dirname(manifest), 'infonce_cuda.so'));
  } catch {
    // not installed: the addon falls back to a CUDA build beside itself, or says what to install
  }
}

function load(): { addon: Addon; binary: { file: string; origin: string } } {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  const { chooseBinary } = require(join(root, 'install', 'binary.cjs')) as {
    chooseBinary(root: string): { file: string; origin: string } | null;
  };
  const binary = chooseBinary(root);
  if (!binary)
    throw new Error(
      `infonce: no native addon for ${process.platform}-${process.arch} in ${root}: no prebuild matches and nothing ` +
        `was built. Build it from source: \`npx cmake-js compile\` in that folder (needs cmake and a C++20 ` +
        `compiler), or reinstall with install scripts allowed (\`npm install-scripts approve infonce\`).`,
    );
  let addon: Addon;
  try {
    addon = require(binary.file) as Addon;
  } catch (cause) {
    throw new Error(
      `infonce: the native addon ${binary.file} (${binary.origin}) does not load here: ${(cause as Error).message}. ` +
        'If it is a prebuild for a newer system, build from source: INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce.',
      { cause },
    );
  }
  useCudaPackage(addon);
  return { addon, binary };
}

const loaded = load();
export const addon: Addon = loaded.addon;
/** Which compiled addon was loaded, and why that one. */
export const addonBinary: { file: string; origin: string } = loaded.binary;
