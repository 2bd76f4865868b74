/**
 * kindling: the umbrella package. `import * as kd from 'kindling'` is PyTorch's `import torch`:
 * core's tensor API and autograd at the top level, and `kd.nn`, `kd.optim`, `kd.data`,
 * `kd.metrics` as namespaces (torch.nn, torch.optim, torch.utils.data, torchmetrics).
 *
 * This entry registers the CPU backend only, with static imports, so that every bundler can
 * follow it. Other backends come from their own entry points (`kindling/webgpu`,
 * `kindling/cuda`) or by importing their packages; in Node, the `node` export condition
 * (./node.ts) also loads whichever of them is installed.
 * À la carte users import @kindling/core, @kindling/autograd and one backend instead.
 */
import '@kindling/autograd';
import '@kindling/backend-cpu';

export * from '@kindling/core';
export { backward, gradcheck, type GradcheckOptions, type GradcheckResult, type BackwardOptions } from '@kindling/autograd';
export * as nn from '@kindling/nn';
export * as optim from '@kindling/optim';
export * as data from '@kindling/data';
export * as metrics from '@kindling/metrics';
