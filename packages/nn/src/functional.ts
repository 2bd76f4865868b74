/**
 * torch.nn.functional, Kindling style: the stateless ops the layers use, re-exported from
 * @kindling/core so `import { functional as F } from '@kindling/nn'` reads like PyTorch.
 */
export {
  conv2d, linear, maxPool2d, avgPool2d, adaptiveAvgPool2d, batchNorm, dropout,
  crossEntropy, nllLoss, mseLoss, softmax, logSoftmax, gelu, relu, sigmoid, tanh, pad,
} from '@kindling/core';
