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

/** `buf` as a live buffer of the device identified by `owner`, or the error that names the op. */
export function ownedBuffer(buf: DeviceBuffer, owner: object, device: string, op: string): CudaBuffer {
  if (!(buf instanceof CudaBuffer) || buf.owner !== owner) {
    const where = buf instanceof CudaBuffer ? buf.device : ((buf as object)?.constructor?.name ?? typeof buf);
    throw new TypeError(`${op}: got a buffer from another device (${where}); move tensors with .toAsync('${device}') first`);
  }
  if (buf.freed) throw new Error(`${op}: the tensor's storage on ${device} was already freed`);
  return buf;
}
