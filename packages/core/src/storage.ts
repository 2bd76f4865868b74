import type { Backend, DeviceBuffer } from './backend.js';
import { bytesPerElement } from './dtype.js';
import { noteAllocation, noteRelease } from './turn.js';

/**
 * A reference-counted device buffer. Every Tensor (view) holds one reference; the buffer goes
 * back to the backend when the last view is disposed (or garbage-collected, see tensor.ts).
 */
export class Storage {
  private refs = 0;
  readonly bytes: number;
  /**
   * Set while the contents are still on their way from another device (`.cpu()` of a GPU tensor):
   * resolves once they are written. Readbacks await it; ops refuse to run before it (tensor.ts).
   */
  pending: { from: string; arrival: Promise<void> } | null = null;

  constructor(
    readonly backend: Backend,
    readonly buffer: DeviceBuffer,
  ) {
    this.bytes = buffer.size * bytesPerElement(buffer.dtype);
    const s = statsFor(backend.device);
    s.storages++;
    s.bytes += this.bytes;
    noteAllocation(this.bytes);
  }

  get device(): string {
    return this.backend.device;
  }

  get refCount(): number {
    return this.refs;
  }

  retain(): void {
    this.refs++;
  }

  /** True once the last view let go and the buffer went back to the backend. */
  get released(): boolean {
    return this.refs === 0;
  }

  release(): void {
    if (--this.refs === 0) {
      const s = statsFor(this.backend.device);
      s.storages--;
      s.bytes -= this.bytes;
      noteRelease(this.bytes);
      this.backend.free(this.buffer);
    }
  }
}

export interface DeviceStats {
  tensors: number;
  storages: number;
  bytes: number;
}

const stats = new Map<string, DeviceStats>();

export function statsFor(device: string): DeviceStats {
  let s = stats.get(device);
  if (!s) {
    s = { tensors: 0, storages: 0, bytes: 0 };
    stats.set(device, s);
  }
  return s;
}

export function allStats(): Map<string, DeviceStats> {
  return stats;
}
