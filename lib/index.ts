// infonce: fused contrastive-loss kernels for Node.js.
export { contrastiveLoss, contrastiveLossSync, DEFAULT_LOG_SCALE } from './loss.js';
export { backendInfo } from './info.js';
export type { BackendInfo, CpuBackendInfo } from './native.js';
export type { ContrastiveLossOptions, ContrastiveLossResult, CpuIsa, Device } from './types.js';
