/**
 * @kindling/optim: torch.optim for Kindling. SGD, Adam, AdamW, RMSprop (PyTorch 1.13
 * semantics, fused backend kernels when available) and the learning-rate schedulers.
 */
export {
  Optimizer, type GroupHyper, type ParamGroup, type ParamGroupInput, type Params, type ParamState, type OptimizerStateDict,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDHyper } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamHyper } from './adam.js';
export { RMSprop, type RMSpropOptions, type RMSpropHyper } from './rmsprop.js';
export {
  LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, OneCycleLR, type OneCycleLROptions, type SchedulerStateDict,
} from './lr-scheduler.js';
export { optimizerFromTorch, type TorchOptimizerName } from './from-torch.js';
