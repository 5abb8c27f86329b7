// Every implementation of the loss that this machine can run, so that one suite checks them all
// (the pattern of websockets/bufferutil). A backend this machine lacks is listed with the reason,
// and its tests are reported as skipped, never silently passed.
import { backendInfo } from '../lib/info.js';
import type { ContrastiveLossOptions } from '../lib/types.js';

export interface Backend {
  name: string;
  options: Partial<ContrastiveLossOptions>;
  /** Why this machine cannot run it; undefined when it can. */
  unavailable?: string;
}

export function lossBackends(): Backend[] {
  const isas = backendInfo().cpu.supportedIsas as string[];
  const cpuIsa = (isa: 'avx512' | 'avx2' | 'portable'): Backend => ({
    name: `cpu-fused-${isa}`,
    options: { device: 'cpu', algorithm: 'fused', isa },
    unavailable: isas.includes(isa) ? undefined : `this CPU has no ${isa}`,
  });
  return [cpuIsa('avx512'), cpuIsa('avx2'), cpuIsa('portable'), { name: 'cpu-naive', options: { device: 'cpu', algorithm: 'naive' } }];
}
