export { train, trainStep, evaluateAccuracyGpu, type TrainResult, type EpochResult } from './train.js';
export {
  buildModel, d2lInit, LeNet, AlexNet, vgg, vggBlock, vgg11, CONV_ARCH, ninBlock, nin, FlattenLayer, GlobalAvgPool2d,
  batchNorm, BatchNorm, lenetBN, lenetBNScratch, lenetD2l, lenetBND2l, alexnetD2l, vgg11D2l, ninD2l, VGG11_ARCH,
} from './models.js';
export { parseOptions, RECIPES, MODELS, USAGE, type TrainOptions, type ModelName, type Recipe } from './options.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './checkpoint.js';
export { plotSvg } from './plot.js';
export { evaluateAccuracy, trainCh5, loadDataFashionMnist, type Ch5Epoch, type Ch5Options, type DataIter, type Net } from './ch5.js';
