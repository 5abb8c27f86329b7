// GPU-resident matrices for the loss (see DeviceTensor in types.ts).
import { addon } from './native.js';
import type { DeviceTensor, DeviceTensorOptions } from './types.js';

/**
 * Copies a row-major Float32Array to the GPU as a tensor of `dtype` (converted on the device).
 * Throws ERR_CUDA_NOT_BUILT / ERR_CUDA_NO_DEVICE where there is no usable GPU.
 */
export function toDevice(data: Float32Array, options: DeviceTensorOptions): DeviceTensor {
  return addon.DeviceTensor.fromFloat32Array(data, options);
}

/** True for a DeviceTensor (as opposed to a Float32Array). */
export function isDeviceTensor(value: unknown): value is DeviceTensor {
  return value instanceof (addon.DeviceTensor as unknown as new () => DeviceTensor);
}
