/** Element types. Labels are int32 where PyTorch uses int64 (every index fits in 2^31). */
export type DType = 'float32' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

/** The JS array a dtype reads back as: bool reads back as 0/1 bytes. */
export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : Uint8Array;

export type TypedArray = Float32Array | Int32Array | Uint8Array;

export function bytesPerElement(dtype: DType): number {
  return dtype === 'bool' ? 1 : 4;
}

export function typedArrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
    default:
      throw new TypeError(`typedArrayFor: unknown dtype '${String(dtype)}'`);
  }
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32';
}

/** PyTorch's promotion for the dtypes we have: bool < int32 < float32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32' || b === 'int32') return 'int32';
  return 'bool';
}

/** The dtype a Python-style scalar takes when it meets a tensor of `dtype` (a float scalar lifts ints). */
export function promoteWithScalar(dtype: DType, scalar: number | boolean): DType {
  if (typeof scalar === 'boolean') return dtype;
  if (!Number.isInteger(scalar) && dtype !== 'float32') return 'float32';
  if (dtype === 'bool') return Number.isInteger(scalar) ? 'int32' : 'float32';
  return dtype;
}
