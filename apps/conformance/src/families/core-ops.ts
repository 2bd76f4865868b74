/**
 * Golden op name → Kindling call, for the op families of @kindling/core. Each handler gets the
 * case's inputs (already on the device under test) and attrs, and returns the outputs by the
 * golden file's names. Attrs arrive in PyTorch's snake_case and are mapped to Kindling's options.
 */
import * as kd from '@kindling/core';
import type { Tensor } from '@kindling/core';
import { batchNormOp } from './batchnorm.js';

export interface OpContext {
  device: string;
  inputs: Record<string, Tensor>;
  attrs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type OpHandler = (ctx: OpContext) => Record<string, Tensor> | Promise<Record<string, Tensor>>;

const out = (t: Tensor): Record<string, Tensor> => ({ out: t });
const unaryOp = (op: kd.UnaryOp): OpHandler => ({ inputs: { x } }) => out(kd.unary(op, x!));
const binaryOp = (op: kd.BinaryOp): OpHandler => ({ inputs: { x, y } }) => out(kd.binary(op, x!, y!));
const reduceOp = (f: (x: Tensor, dim: kd.Dims, keepdim: boolean) => Tensor): OpHandler => ({ inputs: { x }, attrs }) => out(f(x!, attrs.dim, attrs.keepdim ?? false));

/**
 * One handler per op of core's op table, keyed by the op's name (so an op added to the table
 * without one does not compile); golden cases find them by PyTorch's name (kd.torchName).
 */
export const tableOps: Readonly<Record<kd.OpName, OpHandler>> = {
  ...(Object.fromEntries(kd.UNARY_OPS.map((op) => [op, unaryOp(op)])) as Record<kd.UnaryOp, OpHandler>),
  ...(Object.fromEntries(kd.BINARY_OPS.map((op) => [op, binaryOp(op)])) as Record<kd.BinaryOp, OpHandler>),
  ...({
    pow: ({ inputs: { x, y }, attrs }) => out(kd.binary('pow', x!, y ?? (attrs.exponent as number))),

    // reductions
    sum: reduceOp(kd.sum),
    max: ({ inputs: { x }, attrs }) => reduceWithIndices(x!, attrs, 'max'),
    min: ({ inputs: { x }, attrs }) => reduceWithIndices(x!, attrs, 'min'),
    argmax: ({ inputs: { x }, attrs }) => out(kd.argmax(x!, attrs.dim ?? null, attrs.keepdim ?? false)),
    argmin: ({ inputs: { x }, attrs }) => out(kd.argmin(x!, attrs.dim ?? null, attrs.keepdim ?? false)),
    amax: reduceOp(kd.amax),
    amin: reduceOp(kd.amin),

    where: ({ inputs: { condition, x, y } }) => out(kd.where(condition!, x!, y!)),
    cast: ({ inputs: { x }, attrs }) => out(kd.cast(x!, attrs.dtype)),

    // views and data movement
    alias: ({ inputs: { x } }) => out(kd.alias(x!)),
    clone: ({ inputs: { x } }) => out(kd.clone(x!)),
    reshape: ({ inputs: { x }, attrs }) => out(x!.reshape(attrs.shape)),
    permute: ({ inputs: { x }, attrs }) => out(x!.permute(attrs.dims)),
    expand: ({ inputs: { x }, attrs }) => out(x!.expand(attrs.size)),
    slice: ({ inputs: { x }, attrs }) => out(x!.slice((attrs.slices as (number[] | null)[]).map((s) => (s === null ? null : (s as [number, number, number]))))),
    pad: ({ inputs: { x }, attrs }) => out(kd.pad(x!, attrs.pad, attrs.value ?? 0)),
    cat: ({ inputs, attrs }) => out(kd.cat(ordered(inputs), attrs.dim ?? 0)),
    gather: ({ inputs: { x, index }, attrs }) => out(kd.gather(x!, attrs.dim, index!)),
    scatterAdd: ({ inputs: { x, index, src }, attrs }) => out(kd.scatterAdd(x!, attrs.dim, index!, src!)),

    // linear algebra
    bmm: ({ inputs: { x, y } }) => out(kd.bmm(x!, y!)),
    linear: ({ inputs: { x, weight, bias } }) => out(kd.linear(x!, weight!, bias ?? null)),

    // nn functional
    conv2d: ({ inputs: { x, weight, bias }, attrs }) =>
      out(kd.conv2d(x!, weight!, bias ?? null, { stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: attrs.groups })),
    maxPool2d: ({ inputs: { x }, attrs }) =>
      out(kd.maxPool2d(x!, { kernelSize: attrs.kernel_size, stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, ceilMode: attrs.ceil_mode })),
    avgPool2d: ({ inputs: { x }, attrs }) =>
      out(
        kd.avgPool2d(x!, {
          kernelSize: attrs.kernel_size,
          stride: attrs.stride,
          padding: attrs.padding,
          ceilMode: attrs.ceil_mode,
          countIncludePad: attrs.count_include_pad,
          divisorOverride: attrs.divisor_override,
        }),
      ),
    softmax: ({ inputs: { x }, attrs }) => out(kd.softmax(x!, attrs.dim)),
    logSoftmax: ({ inputs: { x }, attrs }) => out(kd.logSoftmax(x!, attrs.dim)),
    batchNorm: batchNormOp,
  } satisfies Record<Exclude<kd.OpName, kd.UnaryOp | kd.BinaryOp> | 'pow', OpHandler>),
};

/** Golden ops that are not ops of the table: composites of them, and other spellings. */
export const compositeOps: Readonly<Record<string, OpHandler>> = {
  gelu: ({ inputs: { x }, attrs }) => out(kd.gelu(x!, attrs.approximate ?? 'none')),
  mean: reduceOp(kd.mean),
  var: ({ inputs: { x }, attrs }) => out(kd.variance(x!, attrs.dim, { unbiased: attrs.unbiased ?? true, keepdim: attrs.keepdim ?? false })),
  std: ({ inputs: { x }, attrs }) => out(kd.std(x!, attrs.dim, { unbiased: attrs.unbiased ?? true, keepdim: attrs.keepdim ?? false })),
  logsumexp: reduceOp(kd.logsumexp),
  view: ({ inputs: { x }, attrs }) => out(x!.view(attrs.shape)),
  transpose: ({ inputs: { x }, attrs }) => out(x!.transpose(attrs.dim0, attrs.dim1)),
  transpose_contiguous: ({ inputs: { x }, attrs }) => {
    const t = x!.transpose(attrs.dim0, attrs.dim1).contiguous();
    return out(attrs.view ? t.view(attrs.view) : t);
  },
  stack: ({ inputs, attrs }) => out(kd.stack(ordered(inputs), attrs.dim ?? 0)),
  squeeze: ({ inputs: { x }, attrs }) => out(x!.squeeze(attrs.dim ?? null)),
  unsqueeze: ({ inputs: { x }, attrs }) => out(x!.unsqueeze(attrs.dim)),
  flatten: ({ inputs: { x }, attrs }) => out(x!.flatten(attrs.start_dim ?? 0, attrs.end_dim ?? -1)),
  matmul: ({ inputs: { x, y } }) => out(kd.matmul(x!, y!)),
  adaptive_avg_pool2d: ({ inputs: { x }, attrs }) => out(kd.adaptiveAvgPool2d(x!, attrs.output_size)),
  dropout: ({ inputs: { x }, attrs }) => out(kd.dropout(x!, { p: attrs.p, training: attrs.training })),
  cross_entropy: ({ inputs: { input, target }, attrs }) => {
    unsupported('cross_entropy', attrs, { weight: null, ignore_index: -100 });
    return out(kd.crossEntropy(input!, target!, { reduction: attrs.reduction, labelSmoothing: attrs.label_smoothing ?? 0 }));
  },
  nll_loss: ({ inputs: { input, target }, attrs }) => {
    unsupported('nll_loss', attrs, { weight: null, ignore_index: -100 });
    return out(kd.nllLoss(input!, target!, { reduction: attrs.reduction }));
  },
  mse_loss: ({ inputs: { input, target }, attrs }) => out(kd.mseLoss(input!, target!, { reduction: attrs.reduction })),
};

/** Golden op name (PyTorch's) → handler: the table's ops under their PyTorch names, then the composites. */
export const goldenHandlers: ReadonlyMap<string, OpHandler> = new Map([
  ...kd.OP_NAMES.map((op) => [kd.torchName(op), tableOps[op]] as const),
  ...Object.entries(compositeOps),
]);

function reduceWithIndices(x: Tensor, attrs: Record<string, unknown>, op: 'max' | 'min'): Record<string, Tensor> {
  if (attrs.dim === null || attrs.dim === undefined) return out(op === 'max' ? kd.max(x) : kd.min(x));
  const r = op === 'max' ? kd.max(x, attrs.dim as number, (attrs.keepdim as boolean) ?? false) : kd.min(x, attrs.dim as number, (attrs.keepdim as boolean) ?? false);
  return { values: r.values, indices: r.indices };
}

/** x0, x1, ... in order. */
function ordered(inputs: Record<string, Tensor>): Tensor[] {
  return Object.keys(inputs)
    .filter((k) => /^x\d+$/.test(k))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .map((k) => inputs[k]!);
}

/** Fails loudly on an attr value Kindling does not implement, instead of ignoring it. */
function unsupported(op: string, attrs: Record<string, unknown>, defaults: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(defaults)) {
    if (k in attrs && attrs[k] !== v && !(v === null && attrs[k] === undefined)) {
      throw new Error(`${op}: attr ${k}=${JSON.stringify(attrs[k])} is not supported yet`);
    }
  }
}
