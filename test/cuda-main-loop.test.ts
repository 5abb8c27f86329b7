// Which main loop a GPU call runs (native/include/schedule/main_loop.h), on a machine without a GPU:
// the panel schedule takes the sm_80 loop unless a development switch requires the sm_90a or sm_100a
// one, and a switch that cannot be honoured (not built, another card, no panel schedule) is refused
// with its reason, never a quiet fallback that a GPU run would report as the loop it asked for.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { contrastiveLossSync } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import { thrown } from './caught.js';

const test = suite('cuda main loop');
const everythingBuilt = { panels: true, sm90aBuilt: true, sm100aBuilt: true };

test("without a switch: the tile kernels, or the panels' sm_80 loop", () => {
  assert.equal(addon.cudaMainLoopChoice('auto', { ...everythingBuilt, panels: false, computeCapability: '9.0' }), { loop: 'tiles', refusal: null });
  for (const computeCapability of ['8.0', '9.0', '10.0', '12.0'])
    assert.equal(addon.cudaMainLoopChoice('auto', { ...everythingBuilt, computeCapability }), { loop: 'sm80', refusal: null });
});

test('each newer loop on its own card, built, with the panel schedule', () => {
  assert.equal(addon.cudaMainLoopChoice('sm90a', { ...everythingBuilt, computeCapability: '9.0' }), { loop: 'sm90a', refusal: null });
  assert.equal(addon.cudaMainLoopChoice('sm100a', { ...everythingBuilt, computeCapability: '10.0' }), { loop: 'sm100a', refusal: null });
});

test('a switch that cannot be honoured is refused, saying which switch and why', () => {
  const cases: [Parameters<typeof addon.cudaMainLoopChoice>[0], Parameters<typeof addon.cudaMainLoopChoice>[1], RegExp][] = [
    ['sm90a', { ...everythingBuilt, sm90aBuilt: false, computeCapability: '9.0' }, /INFONCE_CUDA_WGMMA=1 .*built without sm_90a code/],
    ['sm90a', { ...everythingBuilt, computeCapability: '8.0' }, /INFONCE_CUDA_WGMMA=1 .*compute capability 9\.0 .* only, and this GPU is 8\.0/],
    ['sm90a', { ...everythingBuilt, computeCapability: '10.0' }, /this GPU is 10\.0/],
    ['sm90a', { ...everythingBuilt, panels: false, computeCapability: '9.0' }, /INFONCE_CUDA_WGMMA=1 .*panel schedule only/],
    ['sm100a', { ...everythingBuilt, sm100aBuilt: false, computeCapability: '10.0' }, /INFONCE_CUDA_TCGEN05=1 .*built without sm_100a code/],
    ['sm100a', { ...everythingBuilt, computeCapability: '9.0' }, /INFONCE_CUDA_TCGEN05=1 .*compute capability 10\.0 .* only, and this GPU is 9\.0/],
    // sm_100a code runs on 10.0 alone: not on 10.3 (B300) or 12.0 (RTX 50).
    ['sm100a', { ...everythingBuilt, computeCapability: '10.3' }, /this GPU is 10\.3/],
    ['sm100a', { ...everythingBuilt, panels: false, computeCapability: '10.0' }, /panel schedule only/],
  ];
  for (const [required, candidates, reason] of cases) {
    const choice = addon.cudaMainLoopChoice(required, candidates);
    assert.ok(choice.refusal, `${required} ${JSON.stringify(candidates)} was not refused`);
    assert.match(choice.refusal!, reason);
  }
});

test('bad arguments to the test hook: TypeError and RangeError naming them', () => {
  const wrongType = thrown(() => addon.cudaMainLoopChoice(3 as never, {}));
  assert.instance(wrongType, TypeError);
  assert.match(wrongType!.message, /required/);
  assert.instance(thrown(() => addon.cudaMainLoopChoice('sm70' as never, {})), RangeError);
  const capability = thrown(() => addon.cudaMainLoopChoice('auto', { computeCapability: 'nine' }));
  assert.instance(capability, RangeError);
  assert.match(capability!.message, /computeCapability/);
});

test('both development switches at once: a RangeError naming both', () => {
  process.env.INFONCE_CUDA_WGMMA = '1';
  process.env.INFONCE_CUDA_TCGEN05 = '1';
  try {
    const error = thrown(() => contrastiveLossSync(new Float32Array(4), new Float32Array(4), { rows: 2, dim: 2, backend: 'cpu' }));
    assert.instance(error, RangeError);
    assert.match(error!.message, /INFONCE_CUDA_WGMMA=1 and INFONCE_CUDA_TCGEN05=1/);
  } finally {
    delete process.env.INFONCE_CUDA_WGMMA;
    delete process.env.INFONCE_CUDA_TCGEN05;
  }
});

test('a CPU result carries no main loop', () => {
  const r = contrastiveLossSync(Float32Array.from([1, 0, 0, 1]), Float32Array.from([1, 0, 0, 1]), { rows: 2, dim: 2, backend: 'cpu' });
  assert.is(r.mainLoop, undefined);
});

test.run();
