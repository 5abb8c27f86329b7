import type { BackendInfo } from './addon-types.js';
import { addon, addonBinary } from './native.js';

/**
 * What this build and this machine offer: the addon in use (a prebuild or a local build), CPU
 * features and threads, and the CUDA backend (whether it loaded, and if not, why).
 */
export function backendInfo(): BackendInfo {
  return { ...addon.backendInfo(), addon: addonBinary };
}
