export { OPS, opByName, type OpSpec, type OpCase } from './ops.js';
export { checkOp, evaluate, disagreement, describeCase, type OpResult, type RunOptions, type Tolerance } from './check.js';
export { prepare, TOLERANCE, SPECIALS, BACKENDS, REFERENCE, type BackendName, type Target } from './backends.js';
export { inputArb, buildInput, describeInput, type InputSpec, type ValueOptions } from './inputs.js';
export { KNOWN_FAILURES, knownFailure, type KnownFailure } from './known.js';
export type { Outcome, Values } from './check.js';
export { fuzzParser, type ParserFuzzOptions, type ParserFuzzReport, type Finding } from './parsers.js';
export { TARGETS, KNOWN_PARSER_FINDINGS, makeTarget, type TargetName } from './targets.js';
