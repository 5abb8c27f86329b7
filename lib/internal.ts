// `infonce/internal`: what the project's own tests and benchmarks reach past the public API for, fenced
// off from it (as sharp does): loss options that force one implementation, and the native test hooks
// (the GPU launch plans and the host emulation of the panel pass, the GPU self-test). Not part of the
// contract: any release may change them.
import { addon } from './native.js';

export type { InternalLossOptions } from './types.js';
export type { CudaLaunchPlan, CudaPanelPlan } from './addon-types.js';

export const cudaLaunchPlan = addon.cudaLaunchPlan;
export const cudaPanelPlan = addon.cudaPanelPlan;
export const cudaPanelEmulation = addon.cudaPanelEmulation;
export const cudaSelfTest = addon.cudaSelfTest;
