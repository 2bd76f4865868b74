/** The golden conformance suite on WebGPU with the fused kernels (the default configuration). */
import { describe, it } from 'vitest';
import { unavailable } from './helpers.js';
import { GOLDEN, haveGolden, runGolden } from './conformance.js';

if (!haveGolden) console.warn(`[@kindling/backend-webgpu] conformance skipped: no golden files at ${GOLDEN}`);

describe.skipIf(!!unavailable || !haveGolden)('webgpu: golden conformance, fused kernels', () => {
  it('passes every case', runGolden, 600_000);
});
