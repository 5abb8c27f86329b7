// The GPU launch plan, checked on any machine (no GPU needed): every tile of S is visited exactly
// once per pass, and within a launch no two blocks of the same replica share a row range or a
// column range (the exclusivity that lets the kernels read-modify-write without atomics).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { addon } from '../lib/native.js';

const test = suite('cuda launch plan');

const shapes = [
  { rows: 1, cols: 1, dim: 1 },
  { rows: 3, cols: 5, dim: 7 },
  { rows: 127, cols: 129, dim: 63 },
  { rows: 1000, cols: 1300, dim: 769 },
  { rows: 16384, cols: 16384, dim: 1024 },
  { rows: 4096, cols: 20000, dim: 256 },
];
const machines = [
  { residentBlocks: 1, maxReplicas: 1 },
  { residentBlocks: 132, maxReplicas: 4 }, // H100: one 256-thread block per SM
  { residentBlocks: 264, maxReplicas: 2 },
  { residentBlocks: 40, maxReplicas: 4 }, // a Turing card
];

for (const shape of shapes)
  for (const machine of machines)
    for (const tiles of ['large', 'small'] as const) {
      test(`${JSON.stringify(shape)}, ${machine.residentBlocks} resident blocks, ${tiles} tiles`, () => {
        const plan = addon.cudaLaunchPlan({ ...shape, ...machine, tiles });
        assert.is(plan.paddedRows, plan.rowTiles * plan.tileRows);
        assert.ok(plan.paddedRows >= shape.rows && plan.paddedRows - shape.rows < plan.tileRows);
        assert.ok(plan.paddedCols >= shape.cols && plan.paddedCols - shape.cols < plan.tileCols);
        assert.ok(plan.paddedDim % 64 === 0 && plan.paddedDim >= shape.dim && plan.paddedDim - shape.dim < 64);
        assert.ok(plan.replicas >= 1 && plan.replicas <= machine.maxReplicas);
        assert.ok(plan.ranges <= Math.min(plan.rowTiles, plan.colTiles));

        const visits = new Uint8Array(plan.rowTiles * plan.colTiles);
        const owners = new Map<string, number>();
        for (const b of plan.blocks) {
          for (let I = b.rowTileBegin; I < b.rowTileEnd; I++)
            for (let J = b.colTileBegin; J < b.colTileEnd; J++) visits[I * plan.colTiles + J]++;
          const rowKey = `${b.launch}/${b.replica}/row${b.rowTileBegin}`;
          const colKey = `${b.launch}/${b.replica}/col${b.colTileBegin}`;
          for (const key of [rowKey, colKey]) {
            assert.not.ok(owners.has(key), `two blocks of launch ${b.launch}, replica ${b.replica} share ${key}`);
            owners.set(key, 1);
          }
        }
        assert.ok(visits.every((v) => v === 1), 'every tile exactly once');
      });
    }

test('shared memory fits: small tiles in 64 KiB (sm_75), large in 99 KiB (sm_86/89 opt-in)', () => {
  const small = addon.cudaLaunchPlan({ rows: 1, cols: 1, dim: 1, residentBlocks: 1, maxReplicas: 1, tiles: 'small' });
  const large = addon.cudaLaunchPlan({ rows: 1, cols: 1, dim: 1, residentBlocks: 1, maxReplicas: 1, tiles: 'large' });
  for (const kind of ['half', 'float'] as const) {
    assert.ok(small.sharedBytes[kind].statistics <= 65536 && small.sharedBytes[kind].gradients <= 65536);
    assert.ok(large.sharedBytes[kind].statistics <= 101376 && large.sharedBytes[kind].gradients <= 101376);
  }
});

test.run();
