/**
 * @kindling/nn: torch.nn for Kindling. Module and Parameter, the layers, the losses, init,
 * stateDict / loadStateDict, safetensors checkpoints, summary() and buildFromSpec().
 * Importing it loads @kindling/autograd (parameters need gradients).
 */
import '@kindling/autograd';
import './layers/self-contained.js';

export {
  Module, type StateDict, type StateDictLike, type LoadStateDictResult, type ForwardHook, type ForwardPreHook, type HookHandle,
} from './module.js';
export { Parameter, isParameter, newParameter } from './parameter.js';
export { Linear, Identity, type LinearOptions } from './layers/linear.js';
export { Conv2d, type Conv2dOptions, type IntOrPair } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './layers/pooling.js';
export { ReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax } from './layers/activation.js';
export { Flatten } from './layers/flatten.js';
export { Dropout } from './layers/dropout.js';
export { BatchNormBase, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/batchnorm.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, type LossOptions } from './layers/loss.js';
export { Sequential, ModuleList, type NamedModules } from './layers/container.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as safetensors from './safetensors.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export { buildFromSpec, customModuleClass, SPEC_LAYER_TYPES, type ModuleSpec, type BuildOptions } from './spec.js';
export { pyFloat, pyRepr, torchSize } from './pyfmt.js';
