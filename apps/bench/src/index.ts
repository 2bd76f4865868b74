/** @kindling/bench as a library: the pieces the CLI is made of (used by its tests). */
export { parseOptions, USAGE, ANCHORS, DEFAULT_ANCHORS, defaultAnchors, type BenchOptions, type Anchor } from './options.js';
export { WORKLOADS, selectWorkloads, quickened, type Workload, type WorkloadId } from './workloads.js';
export { median, summarise, fmtRate, fmtBytes, type Summary } from './stats.js';
export { formatTable } from './table.js';
export { runBench, spawnContender, stepBudget, failureReason, type Result, type RunOptions, type ContenderSpec } from './run.js';
export { Contender, findTorchPython, probeWebGPU } from './child.js';
export { webgpuEnv, describeAdapter, SWIFTSHADER_ICD } from './dawn.js';
