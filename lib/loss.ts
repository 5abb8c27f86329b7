// The fused contrastive loss: typed arrays (or GPU tensors) in, loss and gradients out. The bindings
// check every argument (TypeError for a wrong type, RangeError for a wrong size or value) before
// any work.
import { addon } from './native.js';
import { withCallerStack } from './util/call-site.js';
import type { ContrastiveLossOptions, ContrastiveLossResult, DeviceTensor, Matrix } from './types.js';

/** ln(1/0.07) ≈ 2.659: the default log-scale θ (CLIP's initial temperature 0.07, as in the cpt paper). */
export const DEFAULT_LOG_SCALE: number = addon.defaultLogScale;

/**
 * The symmetric InfoNCE loss of normalised embeddings with in-batch negatives, and its gradients, in one
 * call: L = ½(CE over rows + CE over columns) of S = exp(θ)·cos(xᵢ, yⱼ), never materialising S.
 *
 * Runs on worker threads; the event loop stays free. `x`, `y` and `targets` are copied before the
 * promise is returned, so the caller may reuse, transfer or resize them at once; `x` and `y` from
 * {@link allocateFloat32} are read in place instead (no copy; a write before the promise settles
 * rejects the call). With DeviceTensor inputs the gradients come back as float32 DeviceTensors on the
 * same GPU.
 *
 * @param x queries, `rows × dim` floats, row-major.
 * @param y documents, `cols × dim` floats, row-major; row i is query i's positive unless `targets` says otherwise.
 * @example
 * const { loss, gradX, gradY, gradLogScale } = await contrastiveLoss(x, y, { rows: 4096, dim: 768, logScale });
 */
export function contrastiveLoss(x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): Promise<ContrastiveLossResult>;
export function contrastiveLoss(
  x: Matrix,
  y: Matrix,
  options: ContrastiveLossOptions,
): Promise<ContrastiveLossResult<Float32Array | DeviceTensor>>;
export function contrastiveLoss(x: Matrix, y: Matrix, options: ContrastiveLossOptions): Promise<ContrastiveLossResult<Matrix>> {
  try {
    return withCallerStack(addon.contrastiveLoss(x, y, options), contrastiveLoss);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@link contrastiveLoss} on the calling thread: blocks the event loop for the whole computation, so
 * keep it to small inputs (tests, tiny batches).
 */
export function contrastiveLossSync(x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): ContrastiveLossResult;
export function contrastiveLossSync(
  x: Matrix,
  y: Matrix,
  options: ContrastiveLossOptions,
): ContrastiveLossResult<Float32Array | DeviceTensor>;
export function contrastiveLossSync(x: Matrix, y: Matrix, options: ContrastiveLossOptions): ContrastiveLossResult<Matrix> {
  return addon.contrastiveLossSync(x, y, options);
}
