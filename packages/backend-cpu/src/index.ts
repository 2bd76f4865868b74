/**
 * @kindling/backend-cpu: the portable TypeScript backend. Importing this package registers the
 * 'cpu' device with core (a side effect, hence `sideEffects: true` in package.json).
 */
import { registerBackend } from '@kindling/core';
import { CpuBackend } from './backend.js';

export { CpuBackend, type CpuBackendOptions } from './backend.js';
export { CpuBuffer } from './buffer.js';

registerBackend({
  kind: 'cpu',
  unavailableReason: () => null,
  create: () => new CpuBackend(),
});
