import { ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { normalizeDim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { alloc, backendOf, expectDType } from './util.js';
import { zeros } from './creation.js';

function checkIndex(op: string, x: Tensor, d: number, index: Tensor): void {
  expectDType(op, index, ['int32'], 'index');
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i]!)) {
    throw new ShapeError(op, `index ${fmtShape(index.shape)} must have the rank of input ${fmtShape(x.shape)} and no larger size outside dim ${d}`);
  }
}

/** torch.gather(x, dim, index): out[i][j] = x[i][index[i][j]] along `dim`. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const b = backendOf('gather', x, index);
  const d = normalizeDim('gather', dim, x.ndim);
  checkIndex('gather', x, d, index);
  return apply('gather', [x], { dim: d, index, inputShape: x.shape }, () => {
    const out = alloc(b, index.shape, x.dtype);
    b.gather(x.backendView(), d, index.backendView(), out.backendView());
    return [out];
  })[0]!;
}

/** Out-of-place torch.scatter_add: a copy of x with src added at index along dim. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const b = backendOf('scatterAdd', x, index, src);
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  checkIndex('scatterAdd', x, d, index);
  if (src.ndim !== index.ndim || src.shape.some((s, i) => s < index.shape[i]!)) {
    throw new ShapeError('scatterAdd', `src ${fmtShape(src.shape)} must cover index ${fmtShape(index.shape)}`);
  }
  return apply('scatterAdd', [x, src], { dim: d, index }, () => {
    const out = alloc(b, x.shape, x.dtype);
    b.copy(x.backendView(), out.backendView());
    b.scatterAdd(out.backendView(), d, index.backendView(), { ...src.backendView(), shape: index.shape });
    return [out];
  })[0]!;
}

/** Zeros of `shape` with src scattered in (the gather adjoint, used by autograd). */
export function scatterAddInto(shape: readonly number[], dim: number, index: Tensor, src: Tensor): Tensor {
  const z = zeros(shape, { dtype: src.dtype, device: src.device });
  const out = scatterAdd(z, dim, index, src);
  z.dispose();
  return out;
}
