// AdamW (decoupled weight decay) with a linear warm-up and a linear decay to a tenth, global-norm
// gradient clipping, and the trainable log-scale θ with CLIP's clamp (exp θ ≤ 100). The updates are
// native (adamwRows); sparse gradients update only their rows ("lazy" Adam, as torch's SparseAdam).
import type { Gradient, Parameter } from '../encoder/encoder.js';
import { addon } from '../native.js';

export interface OptimizerOptions {
  learningRate: number;
  /** Decoupled weight decay of the dense parameters (the projection); the tables get none. */
  weightDecay: number;
  warmupSteps: number;
  totalSteps: number;
  /** Clip the global gradient norm (tables, projection, θ) to this; 0 disables. */
  clip: number;
  beta1?: number;
  beta2?: number;
}

/** CLIP clamps the logit scale at 100. */
export const MAX_LOG_SCALE = Math.log(100);

export interface OptimizerState {
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  logScale: Float32Array; // [θ, m, v]
}

export class AdamWOptimizer {
  readonly state: OptimizerState;

  constructor(
    private readonly options: OptimizerOptions,
    parameters: Parameter[],
    logScale: number,
    state?: OptimizerState,
  ) {
    this.state = state ?? {
      m: Object.fromEntries(parameters.map((p) => [p.name, new Float32Array(p.data.length)])),
      v: Object.fromEntries(parameters.map((p) => [p.name, new Float32Array(p.data.length)])),
      logScale: Float32Array.of(logScale, 0, 0),
    };
  }

  get logScale(): number {
    return this.state.logScale[0]!;
  }

  /** The learning rate of (1-based) step `step`. */
  learningRate(step: number): number {
    const { learningRate, warmupSteps, totalSteps } = this.options;
    if (step <= warmupSteps) return (learningRate * step) / Math.max(1, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return learningRate * (1 - 0.9 * Math.min(1, progress));
  }

  /** One update of every parameter with a gradient, and of θ. Returns the gradient norm before clipping. */
  step(step: number, parameters: Parameter[], gradients: Gradient[], logScaleGradient: number): { gradNorm: number; learningRate: number } {
    let squares = logScaleGradient * logScaleGradient;
    for (const g of gradients) squares += addon.sumOfSquares(g.grads);
    const gradNorm = Math.sqrt(squares);
    const scale = this.options.clip > 0 && gradNorm > this.options.clip ? this.options.clip / gradNorm : 1;
    const learningRate = this.learningRate(step);
    const common = { learningRate, step, gradientScale: scale, beta1: this.options.beta1 ?? 0.9, beta2: this.options.beta2 ?? 0.999 };
    const byName = new Map(parameters.map((p) => [p.name, p]));
    for (const g of gradients) {
      const p = byName.get(g.name)!;
      addon.adamwRows(p.data, this.state.m[g.name]!, this.state.v[g.name]!, p.width, g.rows, g.grads, {
        ...common,
        weightDecay: g.rows ? 0 : this.options.weightDecay,
      });
    }
    // θ: a one-element table of its own, then the clamp.
    const theta = this.state.logScale.subarray(0, 1);
    addon.adamwRows(theta, this.state.logScale.subarray(1, 2), this.state.logScale.subarray(2, 3), 1, null, Float32Array.of(logScaleGradient), {
      ...common,
      weightDecay: 0,
      threads: 1,
    });
    theta[0] = Math.min(theta[0]!, MAX_LOG_SCALE);
    return { gradNorm, learningRate };
  }
}
