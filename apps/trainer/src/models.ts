/**
 * The trainer's networks for Fashion-MNIST (1 input channel, 10 classes), layer for layer as
 * their sources write them, so `String(net)` is PyTorch's `print(net)` and stateDict keys match:
 *
 * - the seed's (Dive-into-DL-PyTorch, chapter 5, the notes in /work/shared/seed): `LeNet`,
 *   `AlexNet`, `vgg`, `ninBlock`, `FlattenLayer`, `GlobalAvgPool2d`, `BatchNorm`; PyTorch's
 *   default initialisation, trained with Adam;
 * - d2l.ai's (the English book, chapters 6.6, 7.1–7.3, 8.5): the `…D2l` functions, re-initialised
 *   with Xavier-uniform and trained with SGD.
 *
 * Exported on its own as `@kindling/trainer/models` (it needs nothing beyond @kindling/nn and
 * @kindling/core at run time), so browser bundles such as apps/web can use these networks.
 */
import { type Tensor, KindlingError, avgPool2d, fmtShape, noGrad, ones, zeros } from '@kindling/core';
import {
  Module, Sequential, Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, ReLU, Sigmoid, Dropout,
  BatchNorm1d, BatchNorm2d, Parameter, init,
} from '@kindling/nn';
import type { ModelName } from './options.js';

// ---- the seed's chapter 5 ------------------------------------------------------------------

/** d2lzh_pytorch's FlattenLayer: `x.view(x.shape[0], -1)`. */
export class FlattenLayer extends Module {
  override forward(x: Tensor): Tensor {
    return x.view([x.shape[0]!, -1]);
  }
}

/** The seed's GlobalAvgPool2d (5.8): average pooling with the whole feature map as the window. */
export class GlobalAvgPool2d extends Module {
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: [x.shape[2]!, x.shape[3]!] });
  }
}

/** The seed's LeNet (5.5): max pooling, no padding, so 16×4×4 features reach the first Linear. */
export class LeNet extends Module {
  conv = new Sequential(
    new Conv2d(1, 6, 5), // in_channels, out_channels, kernel_size
    new Sigmoid(),
    new MaxPool2d(2, { stride: 2 }), // kernel_size, stride
    new Conv2d(6, 16, 5),
    new Sigmoid(),
    new MaxPool2d(2, { stride: 2 }),
  );
  fc = new Sequential(
    new Linear(16 * 4 * 4, 120),
    new Sigmoid(),
    new Linear(120, 84),
    new Sigmoid(),
    new Linear(84, 10),
  );

  override forward(img: Tensor): Tensor {
    const feature = this.conv.call(img) as Tensor;
    return this.fc.call(feature.view([img.shape[0]!, -1])) as Tensor;
  }
}

/** The seed's AlexNet (5.6) for 1×224×224 inputs: the first convolution without padding. */
export class AlexNet extends Module {
  conv = new Sequential(
    new Conv2d(1, 96, 11, { stride: 4 }),
    new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(96, 256, 5, { stride: 1, padding: 2 }),
    new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(256, 384, 3, { stride: 1, padding: 1 }),
    new ReLU(),
    new Conv2d(384, 384, 3, { stride: 1, padding: 1 }),
    new ReLU(),
    new Conv2d(384, 256, 3, { stride: 1, padding: 1 }),
    new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
  );
  fc = new Sequential(
    new Linear(256 * 5 * 5, 4096),
    new ReLU(),
    new Dropout(0.5), // after the activation, as the notes say
    new Linear(4096, 4096),
    new ReLU(),
    new Dropout(0.5),
    new Linear(4096, 10),
  );

  override forward(img: Tensor): Tensor {
    const feature = this.conv.call(img) as Tensor;
    return this.fc.call(feature.view([img.shape[0]!, -1])) as Tensor;
  }
}

/** vgg_block (5.7): numConvs 3×3 convolutions with padding 1, each followed by ReLU, then a 2×2 max pool. */
export function vggBlock(numConvs: number, inChannels: number, outChannels: number): Sequential {
  const blk: Module[] = [];
  for (let i = 0; i < numConvs; i++) {
    blk.push(new Conv2d(i === 0 ? inChannels : outChannels, outChannels, 3, { padding: 1 }), new ReLU());
  }
  blk.push(new MaxPool2d(2, { stride: 2 }));
  return new Sequential(...blk);
}

/** The seed's vgg (5.7): children `vgg_block_1` … and `fc`. convArch holds (numConvs, inChannels, outChannels). */
export function vgg(convArch: readonly (readonly [number, number, number])[], fcFeatures: number, fcHiddenUnits = 4096): Sequential {
  const net = new Sequential();
  convArch.forEach(([numConvs, inChannels, outChannels], i) => net.addModule(`vgg_block_${i + 1}`, vggBlock(numConvs, inChannels, outChannels)));
  net.addModule('fc', new Sequential(
    new FlattenLayer(),
    new Linear(fcFeatures, fcHiddenUnits),
    new ReLU(),
    new Dropout(0.5),
    new Linear(fcHiddenUnits, fcHiddenUnits),
    new ReLU(),
    new Dropout(0.5),
    new Linear(fcHiddenUnits, 10),
  ));
  return net;
}

/** The seed's conv_arch for VGG-11 (5.7). */
export const CONV_ARCH = [[1, 1, 64], [1, 64, 128], [2, 128, 256], [2, 256, 512], [2, 512, 512]] as const;

/** The seed's trained VGG-11 (5.7): conv_arch's channels divided by `ratio` (8), 512·7·7/8 features, 4096/8 hidden units. */
export function vgg11(ratio = 8): Sequential {
  const smallConvArch = CONV_ARCH.map(([n, i, o], k) => [n, k === 0 ? i : i / ratio, o / ratio] as const);
  return vgg(smallConvArch, (512 * 7 * 7) / ratio, 4096 / ratio);
}

/** nin_block (5.8): a convolution and two 1×1 convolutions, each followed by ReLU. */
export function ninBlock(inChannels: number, outChannels: number, kernelSize: number, stride: number, padding: number): Sequential {
  return new Sequential(
    new Conv2d(inChannels, outChannels, kernelSize, { stride, padding }), new ReLU(),
    new Conv2d(outChannels, outChannels, 1), new ReLU(),
    new Conv2d(outChannels, outChannels, 1), new ReLU(),
  );
}

/** The seed's NiN (5.8): four nin_blocks, ending in GlobalAvgPool2d and FlattenLayer (10×5×5 → 10). */
export function nin(): Sequential {
  return new Sequential(
    ninBlock(1, 96, 11, 4, 0),
    new MaxPool2d(3, { stride: 2 }),
    ninBlock(96, 256, 5, 1, 2),
    new MaxPool2d(3, { stride: 2 }),
    ninBlock(256, 384, 3, 1, 1),
    new MaxPool2d(3, { stride: 2 }),
    new Dropout(0.5),
    // 标签类别数是10
    ninBlock(384, 10, 3, 1, 1),
    new GlobalAvgPool2d(),
    // 将四维的输出转成二维的输出,其形状为(批量大小, 10)
    new FlattenLayer(),
  );
}

/**
 * The notes' batch_norm (5.10), written from core ops: in training the batch's mean and (biased)
 * variance per feature (2-D input) or per channel (4-D input), and the moving averages
 * `momentum * moving + (1 - momentum) * batch`; in eval the moving ones. Returns
 * [Y, movingMean, movingVar] as the notes do.
 */
export function batchNorm(
  isTraining: boolean, X: Tensor, gamma: Tensor, beta: Tensor, movingMean: Tensor, movingVar: Tensor, eps: number, momentum: number,
): [Tensor, Tensor, Tensor] {
  let XHat: Tensor;
  if (!isTraining) {
    // 如果是在预测模式下,直接使用传入的移动平均所得的均值和方差
    XHat = X.sub(movingMean).div(movingVar.add(eps).sqrt());
  } else {
    if (X.ndim !== 2 && X.ndim !== 4) {
      throw new KindlingError('BatchNorm', `expected a 2-D (fully connected) or 4-D (convolutional) input, got ${X.ndim}-D ${fmtShape(X.shape)}`);
    }
    let mean: Tensor;
    let variance: Tensor;
    if (X.ndim === 2) {
      // 使用全连接层的情况,计算特征维上的均值和方差
      mean = X.mean(0);
      variance = X.sub(mean).pow(2).mean(0);
    } else {
      // 使用二维卷积层的情况,计算通道维上(axis=1)的均值和方差,保持X的形状以便广播
      mean = X.mean(0, true).mean(2, true).mean(3, true);
      variance = X.sub(mean).pow(2).mean(0, true).mean(2, true).mean(3, true);
    }
    // 训练模式下用当前的均值和方差做标准化
    XHat = X.sub(mean).div(variance.add(eps).sqrt());
    // 更新移动平均的均值和方差. Without a graph: in PyTorch the moving averages would carry one
    // that grows by a node per step and is never used (eval mode does not backpropagate).
    [movingMean, movingVar] = noGrad(() => [
      movingMean.mul(momentum).add(mean.mul(1.0 - momentum)),
      movingVar.mul(momentum).add(variance.mul(1.0 - momentum)),
    ]);
  }
  const Y = gamma.mul(XHat).add(beta); // 拉伸和偏移
  return [Y, movingMean, movingVar];
}

/**
 * The notes' BatchNorm(num_features, num_dims) module (5.10): gamma (ones) and beta (zeros) are
 * parameters; moving_mean and moving_var are buffers that start at zero; momentum 0.9, eps 1e-5.
 */
export class BatchNorm extends Module {
  declare gamma: Parameter;
  declare beta: Parameter;
  declare moving_mean: Tensor;
  declare moving_var: Tensor;

  constructor(numFeatures: number, numDims: 2 | 4) {
    super();
    if (numDims !== 2 && numDims !== 4) throw new KindlingError('BatchNorm', `numDims must be 2 or 4, got ${numDims}`);
    const shape = numDims === 2 ? [1, numFeatures] : [1, numFeatures, 1, 1];
    // 参与求梯度和迭代的拉伸和偏移参数,分别初始化成1和0
    this.gamma = new Parameter(ones(shape));
    this.beta = new Parameter(zeros(shape));
    // 不参与求梯度和迭代的变量,全在内存上初始化成0
    this.registerBuffer('moving_mean', zeros(shape));
    this.registerBuffer('moving_var', zeros(shape));
  }

  override forward(X: Tensor): Tensor {
    const [oldMean, oldVar] = [this.moving_mean, this.moving_var];
    const [Y, movingMean, movingVar] = batchNorm(this.training, X, this.gamma, this.beta, oldMean, oldVar, 1e-5, 0.9);
    if (movingMean !== oldMean) {
      // Assigning to a buffer's name replaces the buffer; the old averages are no longer referenced.
      this.moving_mean = movingMean;
      this.moving_var = movingVar;
      oldMean.dispose();
      oldVar.dispose();
    }
    return Y;
  }
}

/**
 * The seed's LeNet with batch normalization (5.10) after each convolution (`conv`) and each
 * Linear but the last (`fc`), before the activation.
 */
function lenetWith(conv: (channels: number) => Module, fc: (features: number) => Module): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5), // in_channels, out_channels, kernel_size
    conv(6),
    new Sigmoid(),
    new MaxPool2d(2, { stride: 2 }), // kernel_size, stride
    new Conv2d(6, 16, 5),
    conv(16),
    new Sigmoid(),
    new MaxPool2d(2, { stride: 2 }),
    new FlattenLayer(),
    new Linear(16 * 4 * 4, 120),
    fc(120),
    new Sigmoid(),
    new Linear(120, 84),
    fc(84),
    new Sigmoid(),
    new Linear(84, 10),
  );
}

/** The concise version (5.10): nn.BatchNorm2d and nn.BatchNorm1d. */
export function lenetBN(): Sequential {
  return lenetWith((c) => new BatchNorm2d(c), (f) => new BatchNorm1d(f));
}

/** The same network with the notes' own BatchNorm (5.10, from scratch): BatchNorm(c, 4) and BatchNorm(f, 2). */
export function lenetBNScratch(): Sequential {
  return lenetWith((c) => new BatchNorm(c, 4), (f) => new BatchNorm(f, 2));
}

// ---- d2l.ai's --------------------------------------------------------------------------------

/** d2l.ai 6.6: LeNet-5 with sigmoid activations and average pooling. */
export function lenetD2l(): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2 }), new Sigmoid(),
    new AvgPool2d(2, { stride: 2 }),
    new Conv2d(6, 16, 5), new Sigmoid(),
    new AvgPool2d(2, { stride: 2 }),
    new Flatten(),
    new Linear(16 * 5 * 5, 120), new Sigmoid(),
    new Linear(120, 84), new Sigmoid(),
    new Linear(84, 10),
  );
}

/** d2l.ai 8.5 (concise): LeNet with BatchNorm after every conv and fully connected layer but the last. */
export function lenetBND2l(): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5), new BatchNorm2d(6), new Sigmoid(),
    new AvgPool2d(2, { stride: 2 }),
    new Conv2d(6, 16, 5), new BatchNorm2d(16), new Sigmoid(),
    new AvgPool2d(2, { stride: 2 }), new Flatten(),
    new Linear(256, 120), new BatchNorm1d(120), new Sigmoid(),
    new Linear(120, 84), new BatchNorm1d(84), new Sigmoid(),
    new Linear(84, 10),
  );
}

/** d2l.ai 7.1: AlexNet for 1×224×224 inputs, Dropout after the fully connected layers. */
export function alexnetD2l(): Sequential {
  return new Sequential(
    new Conv2d(1, 96, 11, { stride: 4, padding: 1 }), new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(96, 256, 5, { padding: 2 }), new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(256, 384, 3, { padding: 1 }), new ReLU(),
    new Conv2d(384, 384, 3, { padding: 1 }), new ReLU(),
    new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(),
    new MaxPool2d(3, { stride: 2 }),
    new Flatten(),
    new Linear(6400, 4096), new ReLU(), new Dropout(0.5),
    new Linear(4096, 4096), new ReLU(), new Dropout(0.5),
    new Linear(4096, 10),
  );
}

/** d2l.ai's VGG-11 conv_arch: (number of convs, channels) per block. */
export const VGG11_ARCH: readonly (readonly [number, number])[] = [[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]];

/** d2l.ai 7.2: VGG-11 with the channels divided by `ratio` (d2l trains ratio 4) and 4096-unit FC layers. */
export function vgg11D2l(ratio = 4, fcHidden = 4096): Sequential {
  const blocks: Module[] = [];
  let inChannels = 1;
  for (const [numConvs, channels] of VGG11_ARCH) {
    blocks.push(vggBlock(numConvs, inChannels, channels / ratio));
    inChannels = channels / ratio;
  }
  return new Sequential(
    ...blocks, new Flatten(),
    new Linear(inChannels * 7 * 7, fcHidden), new ReLU(), new Dropout(0.5),
    new Linear(fcHidden, fcHidden), new ReLU(), new Dropout(0.5),
    new Linear(fcHidden, 10),
  );
}

/** d2l.ai 7.3: Network in Network, ending in global average pooling (10×5×5 → 10). */
export function ninD2l(): Sequential {
  return new Sequential(
    ninBlock(1, 96, 11, 4, 0), new MaxPool2d(3, { stride: 2 }),
    ninBlock(96, 256, 5, 1, 2), new MaxPool2d(3, { stride: 2 }),
    ninBlock(256, 384, 3, 1, 1), new MaxPool2d(3, { stride: 2 }),
    new Dropout(0.5),
    ninBlock(384, 10, 3, 1, 1),
    new AdaptiveAvgPool2d([1, 1]), new Flatten(),
  );
}

/**
 * The network for a `--model` name: the seed's under the plain names, d2l.ai's under `…-d2l`
 * (with d2l.ai's Xavier-uniform re-initialisation, drawn right after the default one as
 * train_ch6 does).
 */
export function buildModel(name: ModelName): Module {
  switch (name) {
    case 'lenet': return new LeNet();
    case 'lenet-bn': return lenetBN();
    case 'lenet-bn-scratch': return lenetBNScratch();
    case 'alexnet': return new AlexNet();
    case 'vgg11': return vgg11();
    case 'nin': return nin();
    case 'lenet-d2l': return d2lInit(lenetD2l());
    case 'lenet-bn-d2l': return d2lInit(lenetBND2l());
    case 'alexnet-d2l': return d2lInit(alexnetD2l());
    case 'vgg11-d2l': return d2lInit(vgg11D2l());
    case 'nin-d2l': return d2lInit(ninD2l());
  }
}

/** d2l.ai's train_ch6 re-initialises every Linear and Conv2d weight with Xavier-uniform. */
export function d2lInit<M extends Module>(model: M): M {
  return model.apply((m) => {
    if (m instanceof Linear || m instanceof Conv2d) init.xavierUniform_(m.weight);
  });
}
