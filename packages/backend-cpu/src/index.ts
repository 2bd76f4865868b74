/**
 * @kindling/backend-cpu: the portable TypeScript backend. Importing this package registers the
 * 'cpu' device with core (a side effect, hence `sideEffects: true` in package.json).
 */
import { registerBackend } from '@kindling/core';
import { CpuBackend } from './backend.js';
import { UNARY_RUNS } from './kernels/unary.js';
import { BINARY_RUNS } from './kernels/binary.js';
import { REDUCE_RUNS } from './kernels/reduce.js';
import { ACTIVATION_GRADS } from './kernels/activation.js';

export { CpuBackend, type CpuBackendOptions } from './backend.js';
export { CpuBuffer } from './buffer.js';

/** The ops the portable kernels dispatch, per family, read from their tables (for completeness tests). */
export const kernelOps = {
  unary: Object.keys(UNARY_RUNS),
  binary: Object.keys(BINARY_RUNS),
  reduce: Object.keys(REDUCE_RUNS),
  activation: Object.keys(ACTIVATION_GRADS),
};

registerBackend({
  kind: 'cpu',
  unavailableReason: () => null,
  create: () => new CpuBackend(),
});
