import { liveBackends } from './device.js';
import { allStats } from './storage.js';

export interface DeviceMemory {
  /** Live Tensor handles (views) on the device. */
  tensors: number;
  /** Live storages (device buffers owned by tensors). */
  buffers: number;
  /** Bytes held by those storages. */
  bytes: number;
  /** Bytes a backend's caching allocator holds for reuse. */
  cachedBytes: number;
}

export interface MemoryReport {
  numTensors: number;
  numBytes: number;
  devices: Record<string, DeviceMemory>;
}

/** Live tensors and bytes, in total and per device (tf.memory() / torch.cuda.memory_allocated()). */
export function memory(): MemoryReport {
  const devices: Record<string, DeviceMemory> = {};
  let numTensors = 0;
  let numBytes = 0;
  for (const [device, s] of allStats()) {
    devices[device] = { tensors: s.tensors, buffers: s.storages, bytes: s.bytes, cachedBytes: 0 };
    numTensors += s.tensors;
    numBytes += s.bytes;
  }
  for (const b of liveBackends()) {
    const d = devices[b.device];
    if (d) d.cachedBytes = b.memory().cachedBytes ?? 0;
  }
  return { numTensors, numBytes, devices };
}
