/**
 * The five networks exactly as d2l defines them for Fashion-MNIST (1 input channel, 10 classes),
 * with the same layer order, so stateDict keys and printed summaries match d2l's PyTorch code.
 * Exported on its own as `@kindling/trainer/models` (it imports nothing but @kindling/nn at run
 * time), so browser bundles such as apps/web can use these networks.
 */
import {
  Module, Sequential, Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, ReLU, Sigmoid, Dropout,
  BatchNorm1d, BatchNorm2d, init,
} from '@kindling/nn';
import type { ModelName } from './options.js';

/** d2l 6.6: LeNet-5 with sigmoid activations and average pooling. */
export function lenet(): Sequential {
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

/** d2l 8.5 (concise): LeNet with BatchNorm after every conv and fully connected layer but the last. */
export function lenetBN(): Sequential {
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

/** d2l 7.1: AlexNet for 1×224×224 inputs, Dropout after the fully connected layers. */
export function alexnet(): Sequential {
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

function vggBlock(numConvs: number, inChannels: number, outChannels: number): Sequential {
  const layers: Module[] = [];
  for (let i = 0; i < numConvs; i++) {
    layers.push(new Conv2d(i === 0 ? inChannels : outChannels, outChannels, 3, { padding: 1 }), new ReLU());
  }
  layers.push(new MaxPool2d(2, { stride: 2 }));
  return new Sequential(...layers);
}

/** VGG-11's conv_arch: (number of convs, channels) per block. */
export const VGG11_ARCH: readonly (readonly [number, number])[] = [[1, 64], [1, 128], [2, 256], [2, 512], [2, 512]];

/** d2l 7.2: VGG-11 with the channels divided by `ratio` (d2l trains ratio 4) and 4096-unit FC layers. */
export function vgg11(ratio = 4, fcHidden = 4096): Sequential {
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

function ninBlock(inChannels: number, outChannels: number, kernelSize: number, stride: number, padding: number): Sequential {
  return new Sequential(
    new Conv2d(inChannels, outChannels, kernelSize, { stride, padding }), new ReLU(),
    new Conv2d(outChannels, outChannels, 1), new ReLU(),
    new Conv2d(outChannels, outChannels, 1), new ReLU(),
  );
}

/** d2l 7.3: Network in Network, ending in global average pooling (10×5×5 → 10). */
export function nin(): Sequential {
  return new Sequential(
    ninBlock(1, 96, 11, 4, 0), new MaxPool2d(3, { stride: 2 }),
    ninBlock(96, 256, 5, 1, 2), new MaxPool2d(3, { stride: 2 }),
    ninBlock(256, 384, 3, 1, 1), new MaxPool2d(3, { stride: 2 }),
    new Dropout(0.5),
    ninBlock(384, 10, 3, 1, 1),
    new AdaptiveAvgPool2d([1, 1]), new Flatten(),
  );
}

export function buildModel(name: ModelName): Sequential {
  switch (name) {
    case 'lenet': return lenet();
    case 'lenet-bn': return lenetBN();
    case 'alexnet': return alexnet();
    case 'vgg11': return vgg11();
    case 'nin': return nin();
  }
}

/** d2l's train_ch6 re-initialises every Linear and Conv2d weight with Xavier-uniform. */
export function d2lInit(model: Module): void {
  model.apply((m) => {
    if (m instanceof Linear || m instanceof Conv2d) init.xavierUniform_(m.weight);
  });
}
