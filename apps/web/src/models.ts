/**
 * d2l's LeNet and LeNet-BN, layer for layer as apps/trainer/src/models.ts defines them (same
 * stateDict keys). They are repeated here instead of imported from @kindling/trainer because that
 * package's entry point also loads its Node-only training loop (node:fs, node:path) at the top
 * level, which a browser bundle cannot use.
 */
import { AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, Sequential, Sigmoid, init, type Module } from '@kindling/nn';

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

/** d2l's train_ch6 re-initialises every Linear and Conv2d weight with Xavier-uniform. */
export function d2lInit(model: Module): void {
  model.apply((m) => {
    if (m instanceof Linear || m instanceof Conv2d) init.xavierUniform_(m.weight);
  });
}

export type ModelName = 'lenet-bn' | 'lenet';

export interface ModelPreset {
  name: ModelName;
  title: string;
  build: () => Sequential;
  batchSize: number;
  lr: number;
  note: string;
}

export const PRESETS: Record<ModelName, ModelPreset> = {
  'lenet-bn': {
    name: 'lenet-bn',
    title: 'LeNet-BN (d2l 8.5)',
    build: lenetBN,
    batchSize: 64,
    lr: 0.5,
    note:
      'LeNet with batch normalization, SGD lr 0.5, batch 64: held-out accuracy usually passes 50 % within ' +
      '30–40 iterations (about 2,500 images), so the plots move within a minute even on a software adapter.',
  },
  lenet: {
    name: 'lenet',
    title: 'LeNet (d2l 6.6, sigmoid)',
    build: lenet,
    batchSize: 256,
    lr: 0.9,
    note:
      "d2l's original sigmoid LeNet with SGD lr 0.9, batch 256: the loss sits at ln 10 ≈ 2.30 for most of the " +
      'first epoch (235 iterations) before it starts to fall, so expect flat curves for a while.',
  },
};
