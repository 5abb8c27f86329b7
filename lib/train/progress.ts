// Progress of long work on stderr: a live bar on a terminal (cli-progress), a line every few
// seconds otherwise (logs, CI), nothing when silenced.
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, what: string): void;
  update(done: number, fields: Record<string, string>): void;
  stop(): void;
}

export function progressBar(enabled = true): Progress {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  if (process.stderr.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    let keys: string[] = [];
    return {
      start(total, what) {
        bar = new cliProgress.SingleBar(
          { format: `${what} [{bar}] {value}/{total} ETA {eta_formatted} | {fields}`, stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { fields: '' });
      },
      update(done, fields) {
        keys = Object.keys(fields);
        bar?.update(done, { fields: keys.map((k) => `${k} ${fields[k]}`).join(' | ') });
      },
      stop() {
        bar?.stop();
      },
    };
  }
  let last = 0;
  let label = '';
  let total = 0;
  let first: { done: number; time: number } | undefined; // the rate counts from the first update (a resumed run starts midway)
  return {
    start(t, what) {
      total = t;
      label = what;
    },
    update(done, fields) {
      const now = Date.now();
      first ??= { done, time: now };
      if (now - last < 5000 && done < total) return;
      last = now;
      const rate = (done - first.done) / Math.max(1e-3, (now - first.time) / 1000);
      const eta = done < total && rate > 0 ? ` ETA ${formatSeconds((total - done) / rate)}` : '';
      process.stderr.write(`${label} ${done}/${total}${eta} | ${Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' | ')}\n`);
    },
    stop() {},
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}
