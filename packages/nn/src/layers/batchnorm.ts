import { type Tensor, KindlingError, batchNorm, fmtShape, full, getDefaultDevice, noGrad, ones, zeros } from '@kindling/core';
import { Module } from '../module.js';
import { type Parameter, newParameter } from '../parameter.js';
import { ones_, zeros_ } from '../init.js';
import { pyFloat } from '../pyfmt.js';

export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-stat update factor (default 0.1); null means a cumulative average (1/num_batches_tracked). */
  momentum?: number | null;
  /** Learnable weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked buffers (default true). */
  trackRunningStats?: boolean;
  device?: string;
}

/**
 * The shared part of BatchNorm1d / BatchNorm2d (torch's _BatchNorm). Buffers are registered
 * under PyTorch's names (`running_mean`, `running_var`, `num_batches_tracked`) so stateDict keys
 * match; `runningMean`, `runningVar` and `numBatchesTracked` read them. num_batches_tracked is
 * an int32 scalar (torch: int64).
 */
export abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  /** Host copy of num_batches_tracked (for momentum = null); null when it must be read back. */
  private hostBatches: number | null = 0;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) {
      throw new KindlingError(this._getName(), `numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const device = opts.device ?? getDefaultDevice();
    if (this.affine) {
      this.registerParameter('weight', newParameter([numFeatures], device));
      this.registerParameter('bias', newParameter([numFeatures], device));
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures], { device }));
      this.registerBuffer('running_var', ones([numFeatures], { device }));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int32', device }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  get runningMean(): Tensor | null {
    return this._buffers.get('running_mean') ?? null;
  }
  get runningVar(): Tensor | null {
    return this._buffers.get('running_var') ?? null;
  }
  get numBatchesTracked(): Tensor | null {
    return this._buffers.get('num_batches_tracked') ?? null;
  }

  /** Running stats back to mean 0, variance 1, 0 batches. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
    this.hostBatches = 0;
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** Throws unless x has a rank this layer accepts. */
  protected abstract checkInputDim(x: Tensor): void;

  override forward(x: Tensor): Tensor {
    this.checkInputDim(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new KindlingError(this._getName(), `input ${fmtShape(x.shape)} has ${x.shape[1]} channels, expected ${this.numFeatures}`);
    }
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt) {
      if (this.momentum === null && this.hostBatches === null) this.hostBatches = nbt.itemSync();
      noGrad(() => nbt.add_(1));
      if (this.hostBatches !== null) this.hostBatches++;
      if (this.momentum === null) factor = 1 / this.hostBatches!;
    }
    // Batch statistics in training, or always when there are no running stats (torch's bn_training).
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const passStats = !this.training || this.trackRunningStats;
    return batchNorm(
      x,
      passStats ? this.runningMean : null,
      passStats ? this.runningVar : null,
      this.weight,
      this.bias,
      { training: useBatchStats, momentum: factor, eps: this.eps },
    );
  }

  protected override afterLoadStateDict(): void {
    // num_batches_tracked was overwritten on the device; read it back lazily if ever needed.
    this.hostBatches = null;
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    const b = (v: boolean) => (v ? 'True' : 'False');
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${b(this.affine)}, track_running_stats=${b(this.trackRunningStats)}`;
  }
}

/** Batch norm over [N, C] or [N, C, L] (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new KindlingError('BatchNorm1d', `expected 2D or 3D input (got ${x.ndim}D input ${fmtShape(x.shape)})`);
    }
  }
}

/** Batch norm over [N, C, H, W] (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 4) throw new KindlingError('BatchNorm2d', `expected 4D input (got ${x.ndim}D input ${fmtShape(x.shape)})`);
  }
}
