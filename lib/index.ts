// infonce: fused contrastive-loss kernels for Node.js.
export { contrastiveLoss, contrastiveLossSync, DEFAULT_LOG_SCALE } from './loss.js';
export { isDeviceTensor, toDevice } from './device-tensor.js';
export { backendInfo } from './info.js';
export type { BackendInfo, CpuBackendInfo, CudaBackendInfo, CudaDeviceInfo } from './native.js';
export type {
  ContrastiveLossOptions,
  ContrastiveLossResult,
  CpuIsa,
  Device,
  DeviceTensor,
  DeviceTensorOptions,
  Dtype,
  Matrix,
  Precision,
} from './types.js';
