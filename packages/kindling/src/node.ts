/**
 * The umbrella as Node resolves it (the `node` export condition): everything in ./index.ts,
 * plus every optional backend package that is installed, without top-level await (which would
 * stop `require('kindling')` and bundlers).
 *
 * Whether a package is installed is known synchronously (import.meta.resolve); loading it is
 * not, so until its import settles the kind is registered as a placeholder whose init() waits
 * for it: `await kd.initDevice('webgpu')`, which WebGPU needs anyway, is enough. A package that
 * is not installed is skipped; one that is installed but fails to load is an error naming it,
 * from initDevice(), getBackend() and availableDevices().
 */
import { availableDevices, initDevice, registerBackend } from '@kindling/core';

export * from './index.js';

/** Optional peers of this package, by device kind. */
const OPTIONAL_BACKENDS = [
  { kind: 'webgpu', name: '@kindling/backend-webgpu' },
  { kind: 'cuda', name: '@kindling/backend-cuda' },
] as const;

/** Where each optional backend stands: skipped (not installed), loading, loaded or failed. */
export interface OptionalBackendStatus {
  kind: string;
  name: string;
  state: 'not installed' | 'loading' | 'loaded' | 'failed';
  /** The load error, for state 'failed'. */
  error: string | null;
}

const statuses: OptionalBackendStatus[] = [];
const loads: Promise<void>[] = [];

/** Resolved as import() will (require.resolve would also look in NODE_PATH, which import ignores). */
function isInstalled(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

for (const { kind, name } of OPTIONAL_BACKENDS) {
  const status: OptionalBackendStatus = { kind, name, state: 'not installed', error: null };
  statuses.push(status);
  if (!isInstalled(name)) continue;
  status.state = 'loading';
  const loading = import(name).then(
    () => {
      status.state = 'loaded';
    },
    (e: unknown) => {
      status.state = 'failed';
      status.error = `${name} is installed but failed to load: ${(e as Error)?.message ?? String(e)}`;
      // Said now as well as by initDevice(): a program that never asks still hears of it.
      process.emitWarning(status.error, { code: 'KINDLING_BACKEND_LOAD' });
    },
  );
  loads.push(loading);
  // The package registers its real factory when it loads, replacing this placeholder; a kind
  // already registered (e.g. by `import 'kindling/webgpu'` first) keeps its own.
  if (availableDevices().some((d) => d.kind === kind)) continue;
  let reentered = false;
  registerBackend({
    kind,
    unavailableReason: () =>
      status.state === 'failed' ? status.error : `${name} is still loading: run \`await initDevice('${kind}')\` first`,
    create: () => {
      throw new Error(status.error ?? `${name} is still loading: run \`await initDevice('${kind}')\` first`);
    },
    init: async () => {
      await loading;
      if (status.state === 'failed') throw new Error(status.error!);
      // Loaded, so its own factory should have replaced this one; if this runs again, it
      // registered with another copy of @kindling/core.
      if (reentered) {
        throw new Error(
          `${name} loaded but registered '${kind}' with another copy of @kindling/core (\`npm ls @kindling/core\` lists them; one version must satisfy every peer)`,
        );
      }
      reentered = true;
      try {
        await initDevice(kind);
      } finally {
        reentered = false;
      }
    },
  });
}

/**
 * The optional backends this process found: which are installed, and whether each loaded.
 * Waits for the loads started on import.
 */
export async function optionalBackends(): Promise<OptionalBackendStatus[]> {
  await Promise.all(loads);
  return statuses.map((s) => ({ ...s }));
}
