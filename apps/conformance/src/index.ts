export { runConformance, runValuesCase, registerCaseRunner, markFamilyUnavailable, type RunReport, type CaseResult, type RunOptions, type CaseRunner } from './runner.js';
export { compareTensor, type Mismatch } from './compare.js';
export { loadGoldenDir, toTensor, kindlingDType, type GoldenCase, type GoldenFile, type GoldenTensor } from './golden.js';
