/** Every error Kindling throws names the op that raised it, so a stack-less message still says where. */
export class KindlingError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'KindlingError';
  }
}

export class ShapeError extends KindlingError {
  override name = 'ShapeError';
}
export class DTypeError extends KindlingError {
  override name = 'DTypeError';
}
export class DeviceError extends KindlingError {
  override name = 'DeviceError';
}

/** `[8,3,28,28]`, the way error messages print shapes. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * A bad argument as error messages print it: numbers as themselves, strings quoted and marked as
 * strings (so `'0.1'` is told apart from `0.1`), other values by their type.
 */
export function fmtValue(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v)} (a string)`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) {
    return typeof v === 'bigint' ? `${v}n` : String(v);
  }
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  if (typeof v === 'function') return 'a function';
  const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
}
