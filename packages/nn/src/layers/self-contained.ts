/**
 * nn's layers whose forward keeps no tensor beyond what it returns (see ../ownership.ts). A layer
 * added to nn goes here once its forward is checked for that: no tensor stored on `this` or in a
 * closure, state changed only in place in its own parameters and buffers.
 */
import { declareSelfContained } from '../ownership.js';
import { Linear, Identity } from './linear.js';
import { Conv2d } from './conv.js';
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
import { ReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax } from './activation.js';
import { Flatten } from './flatten.js';
import { Dropout } from './dropout.js';
import { BatchNorm1d, BatchNorm2d } from './batchnorm.js';
import { CrossEntropyLoss, NLLLoss, MSELoss } from './loss.js';
import { Sequential } from './container.js';

declareSelfContained(
  Linear, Identity, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, ReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax,
  Flatten, Dropout, BatchNorm1d, BatchNorm2d, CrossEntropyLoss, NLLLoss, MSELoss, Sequential,
);
