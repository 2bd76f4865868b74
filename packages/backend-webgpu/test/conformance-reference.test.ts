/**
 * The golden conformance suite on WebGPU with the fused kernels off: core's reference
 * decompositions (im2col + matmul, accumulate-based col2im, ...) run over the WGSL primitives.
 * The environment switch is set before the backend is created; vitest runs each test file in its
 * own process, so the fused run in conformance.test.ts is unaffected.
 */
process.env.KINDLING_WEBGPU_FUSED = '0';

import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import { unavailable } from './helpers.js';
import { GOLDEN, haveGolden, runGolden } from './conformance.js';

describe.skipIf(!!unavailable || !haveGolden)('webgpu: golden conformance, reference decompositions', () => {
  it('passes every case with capabilities() empty', async () => {
    await runGolden();
    expect(kd.getBackend('webgpu').capabilities().size).toBe(0);
  }, 600_000);
});
