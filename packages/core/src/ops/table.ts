/**
 * The op table: the one place that names Kindling's ops and says what each one is.
 *
 * Everything else is derived from it, so adding an op here makes every layer that lacks it fail
 * to compile instead of failing at run time:
 *  - the op-name types (`UnaryOp`, `BinaryOp`, `ReduceOp`, `ActivationOp`, `OpName`, ...) and
 *    the sets core branches on (int-preserving, comparison, non-differentiable);
 *  - the Tensor methods and functional exports of the unary and binary ops (methods.ts, index.ts);
 *  - the attribute type `apply()` records for each op (`OpAttrs`), read back by autograd;
 *  - autograd's derivative table, a mapped type over `DifferentiableOp`;
 *  - the backends' dispatch tables (`satisfies Record<UnaryOp, ...>` and so on);
 *  - the native op codes: `nativeOpsHeader()` writes them as a C++ header at build time, and the
 *    code of an op is its position in its family here (the TypeScript side sends the same).
 *
 * Fields:
 *  - family: which Backend primitive runs it ('unary', 'binary', 'compare' go to
 *    Backend.unary/binary, 'reduce' to Backend.reduce) or, for ops that are only recorded on the
 *    graph, what kind of op it is;
 *  - int: unary ops that keep an int32 input's dtype (the rest compute in float32, as torch does);
 *  - grad: false for ops that are never recorded (piecewise constant, bool-valued, or indices);
 *  - activation: unary ops whose gradient backends compute from the saved output alone
 *    (FusedKernels.activationBackward);
 *  - torch: PyTorch's name where it differs (the golden vectors use it);
 *  - attrs: the attributes `apply()` records (a type only; the value is never read).
 */
import type { DType } from '../dtype.js';
import type { Backend, Conv2dParams, Pool2dParams } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { SliceSpec } from './view.js';

/** A type-only marker for an op's recorded attributes. */
const attrs = <T extends object>(): T => ({}) as T;
type None = Record<never, never>;
const none = attrs<None>;
const reduceAttrs = attrs<{ readonly dims: readonly number[]; readonly keepdim: boolean }>;

export const OPS = {
  // ---- Backend.unary ----
  neg: { family: 'unary', int: true, grad: true, attrs: none() },
  abs: { family: 'unary', int: true, grad: true, attrs: none() },
  sign: { family: 'unary', int: true, grad: false, attrs: none() },
  exp: { family: 'unary', int: false, grad: true, attrs: none() },
  log: { family: 'unary', int: false, grad: true, attrs: none() },
  sqrt: { family: 'unary', int: false, grad: true, attrs: none() },
  rsqrt: { family: 'unary', int: false, grad: true, attrs: none() },
  reciprocal: { family: 'unary', int: false, grad: true, attrs: none() },
  square: { family: 'unary', int: true, grad: true, attrs: none() },
  sin: { family: 'unary', int: false, grad: true, attrs: none() },
  cos: { family: 'unary', int: false, grad: true, attrs: none() },
  tanh: { family: 'unary', int: false, grad: true, activation: true, attrs: none() },
  sigmoid: { family: 'unary', int: false, grad: true, activation: true, attrs: none() },
  relu: { family: 'unary', int: true, grad: true, activation: true, attrs: none() },
  erf: { family: 'unary', int: false, grad: true, attrs: none() },
  floor: { family: 'unary', int: true, grad: false, attrs: none() },
  ceil: { family: 'unary', int: true, grad: false, attrs: none() },
  round: { family: 'unary', int: true, grad: false, attrs: none() },
  /** Writes bool whatever the input (core never casts its input). */
  logicalNot: { family: 'unary', int: false, grad: false, torch: 'logical_not', attrs: none() },

  // ---- Backend.binary, written in the output's dtype ----
  add: { family: 'binary', grad: true, attrs: none() },
  sub: { family: 'binary', grad: true, attrs: none() },
  mul: { family: 'binary', grad: true, attrs: none() },
  div: { family: 'binary', grad: true, attrs: none() },
  pow: { family: 'binary', grad: true, attrs: none() },
  maximum: { family: 'binary', grad: true, attrs: none() },
  minimum: { family: 'binary', grad: true, attrs: none() },

  // ---- Backend.binary, bool outputs ----
  eq: { family: 'compare', grad: false, attrs: none() },
  ne: { family: 'compare', grad: false, attrs: none() },
  lt: { family: 'compare', grad: false, attrs: none() },
  le: { family: 'compare', grad: false, attrs: none() },
  gt: { family: 'compare', grad: false, attrs: none() },
  ge: { family: 'compare', grad: false, attrs: none() },
  logicalAnd: { family: 'compare', grad: false, torch: 'logical_and', attrs: none() },
  logicalOr: { family: 'compare', grad: false, torch: 'logical_or', attrs: none() },

  // ---- Backend.reduce (argmax/argmin write int32 indices; max/min are recorded as amax/amin) ----
  sum: { family: 'reduce', grad: true, attrs: reduceAttrs() },
  max: { family: 'reduce', grad: false, attrs: none() },
  min: { family: 'reduce', grad: false, attrs: none() },
  argmax: { family: 'reduce', grad: false, attrs: none() },
  argmin: { family: 'reduce', grad: false, attrs: none() },

  // ---- recorded on the graph, composed from the primitives (or a fused kernel) ----
  where: { family: 'select', grad: true, attrs: none() },
  cast: { family: 'select', grad: true, attrs: attrs<{ readonly dtype: DType }>() },
  amax: { family: 'extremum', grad: true, attrs: reduceAttrs() },
  amin: { family: 'extremum', grad: true, attrs: reduceAttrs() },
  alias: { family: 'view', grad: true, attrs: none() },
  clone: { family: 'view', grad: true, attrs: none() },
  reshape: { family: 'view', grad: true, attrs: attrs<{ readonly shape: readonly number[] }>() },
  permute: { family: 'view', grad: true, attrs: attrs<{ readonly dims: readonly number[] }>() },
  expand: { family: 'view', grad: true, attrs: attrs<{ readonly shape: readonly number[] }>() },
  slice: { family: 'view', grad: true, attrs: attrs<{ readonly specs: readonly SliceSpec[]; readonly inputShape: readonly number[] }>() },
  pad: { family: 'view', grad: true, attrs: attrs<{ readonly lo: readonly number[] }>() },
  cat: { family: 'view', grad: true, attrs: attrs<{ readonly dim: number; readonly sizes: readonly number[] }>() },
  gather: { family: 'index', grad: true, attrs: attrs<{ readonly dim: number; readonly index: Tensor; readonly inputShape: readonly number[] }>() },
  scatterAdd: { family: 'index', grad: true, torch: 'scatter_add', attrs: attrs<{ readonly dim: number; readonly index: Tensor }>() },
  bmm: { family: 'linalg', grad: true, attrs: none() },
  linear: { family: 'linalg', grad: true, attrs: none() },
  conv2d: { family: 'nn', grad: true, attrs: attrs<{ readonly params: Conv2dParams }>() },
  maxPool2d: { family: 'nn', grad: true, torch: 'max_pool2d', attrs: attrs<{ readonly params: Pool2dParams }>() },
  avgPool2d: { family: 'nn', grad: true, torch: 'avg_pool2d', attrs: attrs<{ readonly params: Pool2dParams }>() },
  softmax: { family: 'nn', grad: true, attrs: attrs<{ readonly dim: number }>() },
  logSoftmax: { family: 'nn', grad: true, torch: 'log_softmax', attrs: attrs<{ readonly dim: number }>() },
  batchNorm: { family: 'nn', grad: true, torch: 'batch_norm', attrs: attrs<{ readonly hasWeight: boolean; readonly hasBias: boolean; readonly eps: number }>() },
} as const;

type Table = typeof OPS;
export type OpName = keyof Table;
export type OpFamily = Table[OpName]['family'];
type OpsWhere<F> = { [K in OpName]: Table[K] extends F ? K : never }[OpName];

export type UnaryOp = OpsWhere<{ family: 'unary' }>;
/** Comparison and logical ops write bool outputs; the rest write the output's dtype. */
export type CompareOp = OpsWhere<{ family: 'compare' }>;
export type ArithmeticOp = OpsWhere<{ family: 'binary' }>;
/** What Backend.binary runs: arithmetic and comparisons. */
export type BinaryOp = ArithmeticOp | CompareOp;
/** argmax/argmin write int32 indices into the reduced extent; ties go to the first occurrence (PyTorch). */
export type ReduceOp = OpsWhere<{ family: 'reduce' }>;
/** Unary ops that keep an integer dtype (the rest compute in float32, as torch does for ints). */
export type IntPreservingOp = OpsWhere<{ family: 'unary'; int: true }>;
/** Activations whose gradient core computes from the saved output alone (`activationBackward`). */
export type ActivationOp = OpsWhere<{ activation: true }>;
/** Ops with a derivative: recorded on the graph when an input requires grad. */
export type DifferentiableOp = OpsWhere<{ grad: true }>;
export type NonDifferentiableOp = Exclude<OpName, DifferentiableOp>;
/** The attributes `apply()` records for each op, as autograd reads them back. */
export type OpAttrs = { [K in OpName]: Table[K]['attrs'] };

const names = Object.keys(OPS) as OpName[];
const where = <K extends OpName>(f: (name: OpName) => boolean): readonly K[] => Object.freeze(names.filter(f) as K[]);
const family = (f: OpFamily) => (k: OpName): boolean => OPS[k].family === f;
const flag = (k: OpName, field: 'int' | 'activation'): boolean => (OPS[k] as { [f in typeof field]?: boolean })[field] === true;

/** Every op name, in table order. */
export const OP_NAMES: readonly OpName[] = Object.freeze(names);
/** Each family's ops in table order: an op's native code is its index here. */
export const UNARY_OPS = where<UnaryOp>(family('unary'));
export const ARITHMETIC_OPS = where<ArithmeticOp>(family('binary'));
export const COMPARE_OPS = where<CompareOp>(family('compare'));
export const BINARY_OPS: readonly BinaryOp[] = Object.freeze([...ARITHMETIC_OPS, ...COMPARE_OPS]);
export const REDUCE_OPS = where<ReduceOp>(family('reduce'));
export const ACTIVATION_OPS = where<ActivationOp>((k) => flag(k, 'activation'));
export const INT_PRESERVING_OPS = where<IntPreservingOp>((k) => flag(k, 'int'));
export const DIFFERENTIABLE_OPS = where<DifferentiableOp>((k) => OPS[k].grad);

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(COMPARE_OPS);
export const INT_PRESERVING: ReadonlySet<UnaryOp> = new Set<UnaryOp>(INT_PRESERVING_OPS);
export const NON_DIFFERENTIABLE: ReadonlySet<OpName> = new Set(names.filter((k) => !OPS[k].grad));

/** Whether `op` is recorded on the graph (has a derivative). */
export function isDifferentiable<K extends OpName>(op: K): op is K & DifferentiableOp {
  return OPS[op].grad;
}

/** PyTorch's name of an op (golden vectors, messages). */
export function torchName(op: OpName): string {
  return (OPS[op] as { torch?: string }).torch ?? op;
}

/** A code table: op → its index in `ops` (the native op code). */
export function opCodes<K extends string>(ops: readonly K[]): Readonly<Record<K, number>> {
  return Object.freeze(Object.fromEntries(ops.map((op, i) => [op, i]))) as Record<K, number>;
}

/**
 * A Backend's kernel entry points (the primitives that launch work, then the fused kernels) in a
 * fixed order: native addons number them by position (the entry codes of run(entry, block, count, ...arrays),
 * core/native/kindling_packed.h).
 */
export const KERNEL_ENTRY_POINTS = [
  'copy', 'accumulate', 'fill', 'gather', 'scatterAdd', 'unary', 'binary', 'where', 'reduce', 'matmul', 'random',
  'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d',
  'avgPool2dBackward', 'softmax', 'softmaxBackward', 'batchNormTrain', 'batchNormBackward', 'sgdStep', 'adamStep',
  'activationBackward', 'linear',
] as const satisfies readonly (keyof Backend)[];

/** A family of native codes: `enum <name>Op` with `<prefix>_<OP>` codes, in the order of `ops`. */
export interface NativeFamily {
  readonly name: string;
  readonly prefix: string;
  readonly ops: readonly string[];
}

/** The native families: the C++ enum prefix and the ops, in code order. */
export const NATIVE_FAMILIES = [
  { name: 'Unary', prefix: 'U', ops: UNARY_OPS },
  { name: 'Binary', prefix: 'B', ops: BINARY_OPS },
  { name: 'Reduce', prefix: 'R', ops: REDUCE_OPS },
  { name: 'Activation', prefix: 'A', ops: ACTIVATION_OPS },
  // The kernel entry points: the codes of an addon's run(entry, block, count, ...arrays).
  { name: 'Entry', prefix: 'OP', ops: KERNEL_ENTRY_POINTS },
] as const;

/**
 * How an addon's exported `opNames` (its kindling_ops.h) differ from this table, or null when they
 * agree. An addon built from another version of the table would run the wrong op for a code, so
 * the loaders refuse it with this reason.
 */
export function nativeOpNamesMismatch(opNames: unknown): string | null {
  if (typeof opNames !== 'object' || opNames === null) return 'it exports no op names';
  for (const f of NATIVE_FAMILIES) {
    const got = (opNames as Record<string, unknown>)[f.name.toLowerCase()];
    const want = f.ops as readonly string[];
    if (!Array.isArray(got)) return `it has no ${f.name.toLowerCase()} op names`;
    const i = want.findIndex((op, k) => got[k] !== op);
    if (i >= 0 || got.length !== want.length) {
      const at = i >= 0 ? i : want.length;
      return `${f.name.toLowerCase()} op ${at} is ${JSON.stringify(got[at] ?? null)}, core's table says ${JSON.stringify(want[at] ?? null)}`;
    }
  }
  return null;
}

const SNAKE = (op: string): string => op.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function nativeEnum(f: NativeFamily): string[] {
  const codes = f.ops.map((op, i) => `${f.prefix}_${SNAKE(op)} = ${i}`);
  return [
    `enum ${f.name}Op : int { ${[...codes, `${f.prefix}_COUNT = ${f.ops.length}`].join(', ')} };`,
    `inline constexpr const char* k${f.name}OpNames[${f.prefix}_COUNT] = { ${f.ops.map((op) => `"${op}"`).join(', ')} };`,
  ];
}

/**
 * The C++ header of the native op codes, generated from this table by the addons' build scripts
 * (never edited by hand): per family an `enum <Name>Op` with `<P>_<OP>` codes and `<P>_COUNT` and
 * `k<Name>OpNames`, the kernel entry points among them (`enum EntryOp`: `OP_COPY`, ...); `kOpFamilies`
 * (which the addons export as `opNames`, so a test compares them with this table);
 * `kUnaryIntPreserving`; and `kBinaryBoolResult`.
 */
export function nativeOpsHeader(namespace: string): string {
  const lines = [
    "// Generated from @kindling/core's op table (packages/core/src/ops/table.ts) by the build: do not edit.",
    '#pragma once',
    '',
    `namespace ${namespace} {`,
    '',
  ];
  for (const f of NATIVE_FAMILIES) lines.push(...nativeEnum(f), '');
  lines.push('// Every family by name, for the addons to export (a test compares them with the table).');
  lines.push('struct OpFamilyNames { const char* family; const char* const* names; int count; };');
  lines.push(`inline constexpr OpFamilyNames kOpFamilies[] = { ${NATIVE_FAMILIES.map((f) => `{ "${f.name.toLowerCase()}", k${f.name}OpNames, ${f.prefix}_COUNT }`).join(', ')} };`);
  lines.push('');
  lines.push(`// Unary ops that keep an int32 input's dtype (indexed by UnaryOp).`);
  lines.push(`inline constexpr bool kUnaryIntPreserving[U_COUNT] = { ${UNARY_OPS.map((op) => String(INT_PRESERVING.has(op))).join(', ')} };`);
  lines.push('', '// Binary ops whose result is bool (the compare family, COMPARISON_OPS; indexed by BinaryOp).');
  lines.push(`inline constexpr bool kBinaryBoolResult[B_COUNT] = { ${BINARY_OPS.map((op) => String(COMPARISON_OPS.has(op))).join(', ')} };`);
  lines.push('', `}  // namespace ${namespace}`, '');
  return lines.join('\n');
}
