/**
 * @kindling/core: tensors, dtypes, broadcasting, the Backend interface, the device registry,
 * the op table (every op's shape rules, validation and reference decomposition) and the Philox RNG.
 */
import './methods.js';

export type { DType, TypedArray } from './dtype.js';
export { DTYPES, bytesPerElement, promoteTypes, typedArrayFor } from './dtype.js';
export * from './errors.js';
export type * from './backend.js';
export { UNARY_OPS, COMPARISON_OPS } from './backend.js';
export * from './shape.js';
export {
  registerBackend, getBackend, initDevice, setDefaultDevice, getDefaultDevice, availableDevices, parseDevice, canonicalDevice,
  type BackendFactory, type DeviceAvailability,
} from './device.js';
export { Tensor, type NestedArray, empty, makeView } from './tensor.js';
export { tidy, keep } from './scope.js';
export { asyncScopesSupported } from './context.js';
export { setExternalMemoryReporter } from './turn.js';
export { memory, type MemoryReport, type DeviceMemory } from './memory.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, installAutogradHook, apply, type OpRecord, type AutogradHook } from './grad-mode.js';
export { Generator, globalGenerator, manualSeed, philox4x32, philoxFill, DEFAULT_SEED } from './philox.js';

export * from './ops/creation.js';
export { unary, binary, where, gelu, clamp, broadcastView, type TensorLike } from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/view.js';
export * from './ops/gather.js';
export * from './ops/matmul.js';
export * from './ops/conv.js';
export * from './ops/pool.js';
export { activationBackward } from './ops/activation.js';
export * from './ops/norm.js';
export * from './ops/loss.js';
export * from './ops/dropout.js';
export { copyInto, fillInto } from './ops/inplace.js';
export { sgdStep_, adamStep_, type FusedOption } from './ops/optim.js';
export { to, toAsync } from './ops/transfer.js';

import { binary, unary, type TensorLike } from './ops/elementwise.js';
import type { Tensor } from './tensor.js';

// Functional forms of the elementwise ops (torch.add, torch.exp, ...).
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const erf = (x: Tensor): Tensor => unary('erf', x);
