/**
 * Golden op name → Kindling call, for the op families of @kindling/core. Each handler gets the
 * case's inputs (already on the device under test) and attrs, and returns the outputs by the
 * golden file's names. Attrs arrive in PyTorch's snake_case and are mapped to Kindling's options.
 */
import * as kd from '@kindling/core';
import type { Tensor } from '@kindling/core';

export interface OpContext {
  device: string;
  inputs: Record<string, Tensor>;
  attrs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type OpHandler = (ctx: OpContext) => Record<string, Tensor> | Promise<Record<string, Tensor>>;

const out = (t: Tensor): Record<string, Tensor> => ({ out: t });
const binaryOp = (op: kd.BinaryOp): OpHandler => ({ inputs: { x, y } }) => out(kd.binary(op, x!, y!));
const unaryOp = (f: (x: Tensor) => Tensor): OpHandler => ({ inputs: { x } }) => out(f(x!));

export const coreOps: Record<string, OpHandler> = {
  // elementwise
  add: binaryOp('add'),
  sub: binaryOp('sub'),
  mul: binaryOp('mul'),
  div: binaryOp('div'),
  pow: ({ inputs: { x, y }, attrs }) => out(kd.binary('pow', x!, y ?? (attrs.exponent as number))),
  maximum: binaryOp('maximum'),
  minimum: binaryOp('minimum'),
  gt: binaryOp('gt'),
  lt: binaryOp('lt'),
  ge: binaryOp('ge'),
  le: binaryOp('le'),
  eq: binaryOp('eq'),
  ne: binaryOp('ne'),
  exp: unaryOp((x) => x.exp()),
  log: unaryOp((x) => x.log()),
  sqrt: unaryOp((x) => x.sqrt()),
  rsqrt: unaryOp((x) => x.rsqrt()),
  neg: unaryOp((x) => x.neg()),
  abs: unaryOp((x) => x.abs()),
  relu: unaryOp((x) => x.relu()),
  sigmoid: unaryOp((x) => x.sigmoid()),
  tanh: unaryOp((x) => x.tanh()),
  sin: unaryOp((x) => x.sin()),
  cos: unaryOp((x) => x.cos()),
  gelu: ({ inputs: { x }, attrs }) => out(kd.gelu(x!, attrs.approximate ?? 'none')),
  where: ({ inputs: { condition, x, y } }) => out(kd.where(condition!, x!, y!)),

  // reductions
  sum: ({ inputs: { x }, attrs }) => out(kd.sum(x!, attrs.dim, attrs.keepdim ?? false)),
  mean: ({ inputs: { x }, attrs }) => out(kd.mean(x!, attrs.dim, attrs.keepdim ?? false)),
  max: ({ inputs: { x }, attrs }) => reduceWithIndices(x!, attrs, 'max'),
  min: ({ inputs: { x }, attrs }) => reduceWithIndices(x!, attrs, 'min'),
  amax: ({ inputs: { x }, attrs }) => out(kd.amax(x!, attrs.dim, attrs.keepdim ?? false)),
  amin: ({ inputs: { x }, attrs }) => out(kd.amin(x!, attrs.dim, attrs.keepdim ?? false)),
  argmax: ({ inputs: { x }, attrs }) => out(kd.argmax(x!, attrs.dim ?? null, attrs.keepdim ?? false)),
  argmin: ({ inputs: { x }, attrs }) => out(kd.argmin(x!, attrs.dim ?? null, attrs.keepdim ?? false)),
  var: ({ inputs: { x }, attrs }) => out(kd.variance(x!, attrs.dim, { unbiased: attrs.unbiased ?? true, keepdim: attrs.keepdim ?? false })),
  std: ({ inputs: { x }, attrs }) => out(kd.std(x!, attrs.dim, { unbiased: attrs.unbiased ?? true, keepdim: attrs.keepdim ?? false })),
  logsumexp: ({ inputs: { x }, attrs }) => out(kd.logsumexp(x!, attrs.dim, attrs.keepdim ?? false)),
  softmax: ({ inputs: { x }, attrs }) => out(kd.softmax(x!, attrs.dim)),
  log_softmax: ({ inputs: { x }, attrs }) => out(kd.logSoftmax(x!, attrs.dim)),

  // shape
  reshape: ({ inputs: { x }, attrs }) => out(x!.reshape(attrs.shape)),
  view: ({ inputs: { x }, attrs }) => out(x!.view(attrs.shape)),
  permute: ({ inputs: { x }, attrs }) => out(x!.permute(attrs.dims)),
  transpose: ({ inputs: { x }, attrs }) => out(x!.transpose(attrs.dim0, attrs.dim1)),
  transpose_contiguous: ({ inputs: { x }, attrs }) => {
    const t = x!.transpose(attrs.dim0, attrs.dim1).contiguous();
    return out(attrs.view ? t.view(attrs.view) : t);
  },
  slice: ({ inputs: { x }, attrs }) => out(x!.slice((attrs.slices as (number[] | null)[]).map((s) => (s === null ? null : (s as [number, number, number]))))),
  cat: ({ inputs, attrs }) => out(kd.cat(ordered(inputs), attrs.dim ?? 0)),
  stack: ({ inputs, attrs }) => out(kd.stack(ordered(inputs), attrs.dim ?? 0)),
  expand: ({ inputs: { x }, attrs }) => out(x!.expand(attrs.size)),
  squeeze: ({ inputs: { x }, attrs }) => out(x!.squeeze(attrs.dim ?? null)),
  unsqueeze: ({ inputs: { x }, attrs }) => out(x!.unsqueeze(attrs.dim)),
  flatten: ({ inputs: { x }, attrs }) => out(x!.flatten(attrs.start_dim ?? 0, attrs.end_dim ?? -1)),

  // linear algebra
  matmul: ({ inputs: { x, y } }) => out(kd.matmul(x!, y!)),
  linear: ({ inputs: { x, weight, bias } }) => out(kd.linear(x!, weight!, bias ?? null)),

  // nn functional
  conv2d: ({ inputs: { x, weight, bias }, attrs }) =>
    out(kd.conv2d(x!, weight!, bias ?? null, { stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: attrs.groups })),
  max_pool2d: ({ inputs: { x }, attrs }) =>
    out(kd.maxPool2d(x!, { kernelSize: attrs.kernel_size, stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, ceilMode: attrs.ceil_mode })),
  avg_pool2d: ({ inputs: { x }, attrs }) =>
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
