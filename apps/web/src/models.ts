/**
 * The page's two presets. The networks are the reference trainer's own (d2l.ai's LeNet and LeNet-BN,
 * same stateDict keys), imported through @kindling/trainer's `./models` entry, which loads only
 * @kindling/nn (the package's main entry also loads its Node-only training loop).
 */
import type { Sequential } from '@kindling/nn';
import { d2lInit, lenetD2l, lenetBND2l } from '@kindling/trainer/models';

export { d2lInit };

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
    build: lenetBND2l,
    batchSize: 64,
    lr: 0.5,
    note:
      'LeNet with batch normalization, SGD lr 0.5, batch 64: held-out accuracy usually passes 50 % within ' +
      '30–40 iterations (about 2,500 images), so the plots move within a minute even on a software adapter.',
  },
  lenet: {
    name: 'lenet',
    title: 'LeNet (d2l 6.6, sigmoid)',
    build: lenetD2l,
    batchSize: 256,
    lr: 0.9,
    note:
      "d2l's original sigmoid LeNet with SGD lr 0.9, batch 256: the loss sits at ln 10 ≈ 2.30 for most of the " +
      'first epoch (235 iterations) before it starts to fall, so expect flat curves for a while.',
  },
};
