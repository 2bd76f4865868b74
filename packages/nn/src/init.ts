/**
 * torch.nn.init: in-place initialisers. Each draws from core's Philox generator on the tensor's
 * own device (u·(hi−lo)+lo for uniforms, z·std+mean for normals) and writes into the tensor under
 * noGrad, so `manualSeed(s)` gives the same weights on every backend. They return the tensor.
 */
import { type Tensor, KindlingError, fmtShape, noGrad, rand, randn, tidy } from '@kindling/core';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

/** torch.nn.init.calculate_gain: the recommended gain for a nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new KindlingError('calculateGain', `negative_slope ${String(slope)} not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new KindlingError('calculateGain', `Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** torch's _calculate_fan_in_and_fan_out: fan_in = size(1)·receptive field, fan_out = size(0)·receptive field. */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new KindlingError('init', `Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got ${fmtShape(t.shape)})`);
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function fan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new KindlingError('init', `Mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

function write(t: Tensor, make: () => Tensor): Tensor {
  noGrad(() => tidy(() => void t.copy_(make())));
  return t;
}

/** Fills t with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return write(t, () => rand(t.shape, { device: t.device }).mul(b - a).add(a));
}

/** Fills t with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return write(t, () => randn(t.shape, { device: t.device }).mul(std).add(mean));
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Xavier/Glorot uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** Xavier/Glorot normal: N(0, std²), std = gain·√(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). Default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** Kaiming/He uniform: U(−bound, bound), bound = gain·√(3 / fan), gain = calculateGain(nonlinearity, a). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fan(t, opts.mode ?? 'fan_in')));
  return uniform_(t, -bound, bound);
}

/** Kaiming/He normal: N(0, std²), std = gain / √fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return normal_(t, 0, gain / Math.sqrt(fan(t, opts.mode ?? 'fan_in')));
}

/**
 * PyTorch's default for Linear and Conv layers (reset_parameters): weight
 * kaiming_uniform_(a=√5), i.e. U(−1/√fan_in, 1/√fan_in), and bias U(−1/√fan_in, 1/√fan_in).
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
