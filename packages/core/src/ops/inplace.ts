import { KindlingError, fmtShape } from '../errors.js';
import { isGradEnabled } from '../grad-mode.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './util.js';
import { broadcastView } from './elementwise.js';
import { checkInt32, checkScalar } from './creation.js';

function checkInPlace(op: string, dst: Tensor): void {
  if (dst.requiresGrad && isGradEnabled()) {
    throw new KindlingError(op, `a tensor ${fmtShape(dst.shape)} that requires grad cannot be modified in place while recording; wrap the update in noGrad()`);
  }
}

/** dst.copy_(src): writes src (broadcast, cast to dst's dtype) into dst's view. Returns dst. */
export function copyInto(dst: Tensor, src: Tensor): Tensor {
  const b = backendOf('copy_', dst, src);
  checkInPlace('copy_', dst);
  const shape = broadcastShapes('copy_', dst.shape, src.shape);
  if (!shapesEqual(shape, dst.shape)) throw new KindlingError('copy_', `source ${fmtShape(src.shape)} cannot be broadcast to destination ${fmtShape(dst.shape)}`);
  if (dst.size > 0) b.copy(broadcastView(src, dst.shape), dst.backendView());
  return dst;
}

/** dst.fill_(value). */
export function fillInto(dst: Tensor, value: number): Tensor {
  checkInPlace('fill_', dst);
  checkScalar('fill_', 'fill value', value);
  if (dst.dtype === 'int32') checkInt32('fill_', Number(value));
  if (dst.size > 0) dst.backend.fill(dst.backendView(), value);
  return dst;
}
