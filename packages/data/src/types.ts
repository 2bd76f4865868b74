/**
 * Plain typed-array types: the layer of @kindling/data that works without any tensor library.
 * Images and batches live in host memory as typed arrays in row-major (C-contiguous) order; only
 * the DataLoader's last step wraps a batch into @kindling/core tensors.
 */

/** Element arrays a sample can hold: raw 8-bit pixels or float32 values. */
export type HostData = Uint8Array | Float32Array;

/**
 * An array in host memory with its shape, row-major. Images are [C, H, W]; a batch of images is
 * [N, C, H, W]. A Uint8Array holds raw pixels 0..255 (what an IDX file stores, what PIL would
 * hold); a Float32Array holds values after ToTensor (0..1) or other float transforms.
 */
export interface HostArray {
  readonly data: HostData;
  readonly shape: readonly number[];
}

/** An image [C, H, W] (the shape transforms expect; see transforms.ts). */
export type Image = HostArray;

/**
 * A collated batch before it becomes tensors: x is float32 [B, ...sampleShape], y holds the
 * int32 labels [B] (int32 where PyTorch uses int64).
 */
export interface RawBatch {
  readonly x: Float32Array;
  readonly xShape: readonly number[];
  readonly y: Int32Array;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[1,28,28]` — for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Whether a value looks like a HostArray (a typed array plus a shape). */
export function isHostArray(v: unknown): v is HostArray {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { data?: unknown; shape?: unknown };
  return (o.data instanceof Float32Array || o.data instanceof Uint8Array) && Array.isArray(o.shape);
}
