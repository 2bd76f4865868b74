import type { DType, DeviceBuffer } from '@kindling/core';

/** A block of device memory from the addon's caching allocator; `ptr` is the device address. */
export class CudaBuffer implements DeviceBuffer {
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly ptr: number,
    /** The backend instance (one per device) that owns the block. */
    readonly owner: object,
    readonly device: string,
  ) {}
}
