/** @kindling/metrics: classification metrics computed on the device, read back once. */
export { correctCount, accuracy, topKCorrectCount, topKAccuracy } from './accuracy.js';
export { ConfusionMatrix, type ClassReport } from './confusion.js';
export { RunningSums, RunningMean } from './running.js';
