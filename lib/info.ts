import { addon, type BackendInfo } from './native.js';

/** What this build and this machine offer: CPU features and threads (and, with CUDA, the GPU). */
export function backendInfo(): BackendInfo {
  return addon.backendInfo();
}
