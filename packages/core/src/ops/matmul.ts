import { ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import type { Backend } from '../backend.js';
import { alloc, backendOf, expectDType, runFused } from './util.js';
import { binary } from './elementwise.js';
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze } from './view.js';
import { broadcastShapes } from '../shape.js';

/** A view whose matrices have unit stride in one of the last two dims (what kernels take). */
function matrixLayout(t: Tensor): Tensor {
  const r = t.ndim;
  const unit = t.strides[r - 1] === 1 || t.strides[r - 2] === 1 || t.shape[r - 1] === 1 || t.shape[r - 2] === 1;
  return unit ? t : contiguous(t);
}

/** The batched product a [B,M,K] · b [B,K,N] (batch strides may be 0): the op autograd sees. */
export function bmm(a: Tensor, b: Tensor): Tensor {
  const be = backendOf('bmm', a, b);
  expectDType('bmm', a, ['float32', 'int32']);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new ShapeError('bmm', `cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)}`);
  }
  if (a.dtype !== b.dtype) throw new ShapeError('bmm', `dtypes differ: ${a.dtype} and ${b.dtype}`);
  return apply('bmm', [a, b], {}, () => {
    const out = alloc(be, [a.shape[0]!, a.shape[1]!, b.shape[2]!], a.dtype);
    const al = matrixLayout(a);
    const bl = matrixLayout(b);
    be.matmul(al.backendView(), bl.backendView(), out.backendView());
    if (al !== a) al.dispose();
    if (bl !== b) bl.dispose();
    return [out];
  })[0]!;
}

/** torch.matmul: 1-D operands, 2-D products, and batch broadcasting. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  backendOf('matmul', a, b);
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul', `both arguments need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const k1 = a.shape[a.ndim - 1]!;
  const k2 = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (k1 !== k2) throw new ShapeError('matmul', `cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)}`);
  return tidy(() => {
    const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
    const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
    const [M, K, N] = [a2.shape[a2.ndim - 2]!, k1, b2.shape[b2.ndim - 1]!];
    let out: Tensor;
    if (b2.ndim === 2) {
      // Fold a's batch dims into M (torch does the same): one big product.
      const batch = a2.shape.slice(0, -2);
      const r = bmm(unsqueeze(reshape(a2, [-1, K]), 0), unsqueeze(b2, 0));
      out = reshape(r, [...batch, M, N]);
    } else {
      const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
      const B = batch.reduce((x, y) => x * y, 1);
      const ae = reshapeBatch(expand(a2, [...batch, M, K]), B);
      const be = reshapeBatch(expand(b2, [...batch, K, N]), B);
      out = reshape(bmm(ae, be), [...batch, M, N]);
    }
    if (a.ndim === 1) out = squeeze(out, -2);
    if (b.ndim === 1) out = squeeze(out, -1);
    return out;
  });
}

/** Collapses leading dims to one batch dim, keeping stride-0 broadcasting when it can. */
function reshapeBatch(t: Tensor, B: number): Tensor {
  return reshape(t, [B, t.shape[t.ndim - 2]!, t.shape[t.ndim - 1]!]);
}

/**
 * torch.nn.functional.linear: x @ weightᵀ + bias, recorded as one op ('linear') whose gradients
 * are two products and a sum (no transposed copy of the weight's gradient). Runs the backend's
 * `linear` kernel when it has one, else matmul + add.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const be = backendOf('linear', x, weight, bias);
  if (weight.ndim !== 2 || x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError('linear', `input ${fmtShape(x.shape)} does not match weight ${fmtShape(weight.shape)} (expects last dim ${weight.shape[1]})`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError('linear', `bias ${fmtShape(bias.shape)} must be [${weight.shape[0]}] for weight ${fmtShape(weight.shape)}`);
  }
  if (x.dtype !== weight.dtype) throw new ShapeError('linear', `dtypes differ: input ${x.dtype} and weight ${weight.dtype}`);
  const [N, K] = weight.shape as [number, number];
  if (x.ndim !== 2) {
    // Leading dims fold into the rows (torch does the same).
    return tidy(() => reshape(linear2d(be, reshape(x, [-1, K]), weight, bias ?? null), [...x.shape.slice(0, -1), N]));
  }
  return linear2d(be, x, weight, bias ?? null);
}

function linear2d(be: Backend, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return apply('linear', inputs, {}, () => {
    return runFused(be, 'linear', {
      eligible: x.dtype === 'float32' && (!bias || bias.dtype === 'float32'),
      inputs: [x, weight, bias],
      outputs: [{ shape: [x.shape[0]!, weight.shape[0]!], dtype: 'float32' }],
      call: (k, [xv, wv, bv], [out]) => k(xv, wv, bv, out),
      reference: () => [linearReference(x, weight, bias)],
    });
  })[0]!;
}

/** The decomposition: one product with the transposed weight (a view), then the bias. */
function linearReference(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  return tidy(() => {
    const y = matmul(x, transpose(weight, 0, 1));
    return bias ? binary('add', y, bias) : y;
  });
}
