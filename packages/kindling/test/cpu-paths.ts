/**
 * The two CPU paths as devices of one process, for tests that must hold on both: 'cpu' (the
 * native addon when it is built) and 'portable:0', a CpuBackend with native: false. `env` is the
 * KINDLING_CPU_NATIVE value that selects the same path in a child process; `skip` says why a
 * path cannot run here (empty when it can).
 */
import * as kd from 'kindling';
import { CpuBackend } from '@kindling/backend-cpu';

kd.registerBackend({
  kind: 'portable',
  unavailableReason: () => null,
  create: () => Object.assign(new CpuBackend({ native: false }), { device: 'portable:0' }) as unknown as kd.Backend,
});

const nativeBackend = kd.getBackend('cpu') as unknown as CpuBackend;

export const cpuPaths = [
  { name: 'native', device: 'cpu', env: '1', skip: nativeBackend.isNative ? '' : nativeBackend.info().implementation },
  { name: 'portable', device: 'portable:0', env: '0', skip: '' },
] as const;
