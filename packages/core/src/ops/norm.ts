import { KindlingError, ShapeError, fmtShape, fmtValue } from '../errors.js';
import { apply, noGrad } from '../grad-mode.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { backendOf, expectDType, runFused } from './util.js';
import { binary, unary } from './elementwise.js';
import { contiguous, reshape } from './view.js';
import { sum, mean } from './reduce.js';
import { copyInto } from './inplace.js';

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * torch.nn.functional.batch_norm(x, runningMean, runningVar, weight, bias, training, momentum, eps)
 * on [N,C], [N,C,L] or [N,C,H,W]. Training normalises with the biased batch variance and updates
 * the running stats in place with the unbiased one; eval uses the running stats.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  opts: BatchNormOptions = {},
): Tensor {
  const b = backendOf('batchNorm', x, runningMean, runningVar, weight, bias);
  expectDType('batchNorm', x, ['float32']);
  if (x.ndim < 2) throw new ShapeError('batchNorm', `expected input with at least 2 dims [N,C,...], got ${fmtShape(x.shape)}`);
  const C = x.shape[1]!;
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) {
      throw new ShapeError('batchNorm', `${name} ${fmtShape(t.shape)} must be [${C}] for input ${fmtShape(x.shape)} with ${C} channels`);
    }
  }
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  // Checked here: a string would become NaN in every output (and the running stats).
  if (typeof training !== 'boolean') throw new TypeError(`batchNorm: option training must be true or false, got ${fmtValue(training)}`);
  for (const [k, v] of [['momentum', momentum], ['eps', eps]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`batchNorm: option ${k} must be a finite number, got ${fmtValue(v)}`);
  }
  const N = x.shape[0]!;
  const L = x.size / Math.max(N * C, 1);
  const bshape = [1, C, ...x.shape.slice(2).map(() => 1)];
  if (!training) {
    if (!runningMean || !runningVar) throw new KindlingError('batchNorm', 'eval mode needs runningMean and runningVar');
    return tidy(() => {
      let y = binary('mul', binary('sub', x, reshape(runningMean, bshape)), reshape(unary('rsqrt', binary('add', runningVar, eps)), bshape));
      if (weight) y = binary('mul', y, reshape(weight, bshape));
      if (bias) y = binary('add', y, reshape(bias, bshape));
      return y;
    });
  }
  if (N * L <= 1) throw new KindlingError('batchNorm', `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  const [y, savedMean, savedInvstd] = apply('batchNorm', inputs, { hasWeight: weight !== null, hasBias: bias !== null, eps }, () => {
    const x3 = reshape(contiguous(x), [N, C, L]);
    const [out, m, invstd] = runFused(b, 'batchNormTrain', {
      inputs: [x3, weight, bias],
      inPlace: [runningMean, runningVar],
      outputs: [{ shape: [N, C, L], dtype: 'float32' }, { shape: [C], dtype: 'float32' }, { shape: [C], dtype: 'float32' }],
      call: (k, [xv, wv, bv], [ov, mv, iv], [rm, rv]) => k(xv, wv, bv, rm, rv, momentum, eps, ov, mv, iv),
      reference: () => tidy(() => {
        const mu = mean(x3, [0, 2]);
        const xc = binary('sub', x3, reshape(mu, [1, C, 1]));
        const v = binary('div', sum(binary('mul', xc, xc), [0, 2]), N * L);
        const is = unary('rsqrt', binary('add', v, eps));
        let o = binary('mul', xc, reshape(is, [1, C, 1]));
        if (weight) o = binary('mul', o, reshape(weight, [1, C, 1]));
        if (bias) o = binary('add', o, reshape(bias, [1, C, 1]));
        noGrad(() => {
          const n = N * L;
          if (runningMean) copyInto(runningMean, binary('add', binary('mul', runningMean, 1 - momentum), binary('mul', mu, momentum)));
          if (runningVar) copyInto(runningVar, binary('add', binary('mul', runningVar, 1 - momentum), binary('mul', v, (momentum * n) / (n - 1))));
        });
        return [o, mu, is];
      }),
    }) as [Tensor, Tensor, Tensor];
    x3.dispose();
    const o4 = reshape(out, x.shape);
    out.dispose();
    return [o4, m, invstd];
  });
  // The batch statistics live on in the autograd node when one was recorded.
  savedMean!.dispose();
  savedInvstd!.dispose();
  return y!;
}

/** Grads of training-mode batch norm (kernel or formula): returns [gx, gWeight, gBias]. */
export function batchNormBackward(gy: Tensor, x: Tensor, weight: Tensor | null, mean_: Tensor, invstd: Tensor): [Tensor, Tensor, Tensor] {
  const b = gy.backend;
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const L = x.size / (N * C);
  return tidy(() => {
    const x3 = reshape(contiguous(x), [N, C, L]);
    const g3 = reshape(contiguous(gy), [N, C, L]);
    const [gx, gw, gb] = runFused(b, 'batchNormBackward', {
      inputs: [g3, x3, weight, mean_, invstd],
      outputs: [{ shape: [N, C, L], dtype: 'float32' }, { shape: [C], dtype: 'float32' }, { shape: [C], dtype: 'float32' }],
      call: (k, [gv, xv, wv, mv, iv], [gxv, gwv, gbv]) => k(gv, xv, wv, mv, iv, gxv, gwv, gbv),
      reference: () => batchNormBackwardReference(g3, x3, weight, mean_, invstd),
    });
    return [reshape(gx!, x.shape), gw!, gb!] as [Tensor, Tensor, Tensor];
  });
}

/** The formula on [N, C, L] views: returns [gx as [N, C, L], gWeight, gBias]. */
function batchNormBackwardReference(g3: Tensor, x3: Tensor, weight: Tensor | null, mean_: Tensor, invstd: Tensor): Tensor[] {
  const [N, C, L] = x3.shape as [number, number, number];
  return tidy(() => {
    const is3 = reshape(invstd, [1, C, 1]);
    const xhat = binary('mul', binary('sub', x3, reshape(mean_, [1, C, 1])), is3);
    const gb = sum(g3, [0, 2]);
    const gw = sum(binary('mul', g3, xhat), [0, 2]);
    const M = N * L;
    const scale = weight ? binary('mul', reshape(weight, [1, C, 1]), is3) : is3;
    // gx = w·invstd/M · (M·gy − Σgy − x̂·Σ(gy·x̂))
    const inner = binary('sub', binary('sub', binary('mul', g3, M), reshape(gb, [1, C, 1])), binary('mul', xhat, reshape(gw, [1, C, 1])));
    return [binary('mul', binary('div', scale, M), inner), gw, gb];
  });
}
