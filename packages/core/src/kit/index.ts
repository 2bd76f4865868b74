/**
 * @kindling/core/backend: the kit backends are built from. Layout helpers (contiguity, dim
 * collapsing), typed-array factories, fused-kernel attachment and the `KINDLING_*` switch registry,
 * so each backend keeps only its own kernels. docs/architecture.md shows where it sits.
 */
export { isContiguousView, collapseDims, type CollapsedDims } from './strided.js';
export { PackedArgs, DTYPE_CODE } from './packed.js';
export { attachFused, fusedEnabled, fusedNote } from './fused.js';
export {
  FLAGS, TRUE_SPELLINGS, FALSE_SPELLINGS, flagBool, flagInt, flagString, checkFlags, parseBoolean, flagsMarkdown, processEnv,
  type FlagName, type FlagSpec, type FlagType, type BooleanFlag, type IntegerFlag, type StringFlag,
} from './flags.js';
export { typedArrayFor, bytesPerElement, dtypeOfArray, type TypedArray, type TypedArrayFor } from '../dtype.js';
export { numel, contiguousStrides, isContiguous } from '../shape.js';
