export { train, trainStep, evaluateAccuracy, type TrainResult, type EpochResult } from './train.js';
export { buildModel, lenet, lenetBN, alexnet, vgg11, nin, d2lInit } from './models.js';
export { parseOptions, D2L_DEFAULTS, MODELS, USAGE, type TrainOptions, type ModelName } from './options.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './checkpoint.js';
export { plotSvg } from './plot.js';
