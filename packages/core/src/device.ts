import type { Backend } from './backend.js';
import { DeviceError } from './errors.js';
import { flagString } from './kit/flags.js';

/**
 * The device registry. A backend package registers a factory for its device kind ('cpu',
 * 'webgpu', 'cuda'); instances are made lazily per device string ('cuda:1'), so there is no
 * global single-device state. The default device comes from setDefaultDevice() or
 * $KINDLING_DEVICE, so a deployment swaps backends without a code change.
 */
export interface BackendFactory {
  kind: string;
  /** Why this kind cannot run here, or null when it can. Cheap and synchronous. */
  unavailableReason(): string | null;
  create(index: number): Backend;
  /** Async initialisation (e.g. requesting a WebGPU adapter), run by initDevice(). */
  init?(): Promise<void>;
  deviceCount?(): number;
}

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let defaultDevice: string | null = null;

export function registerBackend(factory: BackendFactory): void {
  factories.set(factory.kind, factory);
}

/** Splits 'cuda:1' into ['cuda', 1]; 'cuda' means index 0. */
export function parseDevice(device: string): { kind: string; index: number; canonical: string } {
  const m = /^([a-z]+)(?::(\d+))?$/.exec(device);
  if (!m) throw new DeviceError('device', `'${device}' is not a device string (expected e.g. 'cpu', 'webgpu', 'cuda', 'cuda:1')`);
  const kind = m[1]!;
  const index = m[2] === undefined ? 0 : Number(m[2]);
  const canonical = kind === 'cpu' || kind === 'webgpu' ? kind : `${kind}:${index}`;
  return { kind, index, canonical };
}

/** The backend instance for a device string, created on first use. */
export function getBackend(device: string): Backend {
  const { kind, index, canonical } = parseDevice(device);
  const existing = instances.get(canonical);
  if (existing) return existing;
  const factory = factories.get(kind);
  if (!factory) {
    throw new DeviceError(
      'device',
      `no backend registered for '${kind}' (registered: ${[...factories.keys()].join(', ') || 'none'}); import '@kindling/backend-${kind}' or 'kindling'`,
    );
  }
  const reason = factory.unavailableReason();
  if (reason) throw new DeviceError('device', `${kind} unavailable: ${reason}`);
  const backend = factory.create(index);
  instances.set(canonical, backend);
  return backend;
}

/** Runs a backend's async initialisation (WebGPU needs one) and returns it. */
export async function initDevice(device: string): Promise<Backend> {
  const { kind } = parseDevice(device);
  const factory = factories.get(kind);
  if (factory?.init) await factory.init();
  return getBackend(device);
}

export function canonicalDevice(device: string): string {
  return parseDevice(device).canonical;
}

export function setDefaultDevice(device: string): void {
  parseDevice(device);
  defaultDevice = canonicalDevice(device);
}

export function getDefaultDevice(): string {
  if (defaultDevice) return defaultDevice;
  const env = flagString('KINDLING_DEVICE');
  return env ? canonicalDevice(env) : 'cpu';
}

export interface DeviceAvailability {
  kind: string;
  available: boolean;
  reason: string | null;
}

/** Every registered backend kind, whether it can run here, and why not. */
export function availableDevices(): DeviceAvailability[] {
  return [...factories.values()].map((f) => {
    const reason = f.unavailableReason();
    return { kind: f.kind, available: reason === null, reason };
  });
}

/** Backends created so far (for memory reports). */
export function liveBackends(): Backend[] {
  return [...instances.values()];
}
