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
