// One line naming the machine a benchmark ran on: results are only comparable on the same one.
import { cpus, totalmem } from 'node:os';

import { backendInfo } from '../lib/info.js';

export function describeMachine(threads: number): string {
  const info = backendInfo();
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return (
    `${model}, ${info.cpu.threads} hardware threads, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, ` +
    `ISA ${info.cpu.isa}${info.cpu.avx512bf16 ? ' (+bf16)' : ''}, ${threads} threads, Node ${process.version}`
  );
}
