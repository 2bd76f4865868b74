/**
 * kindling: the umbrella package. `import * as kd from 'kindling'` is PyTorch's `import torch`:
 * core's tensor API and autograd at the top level, and `kd.nn`, `kd.optim`, `kd.data`,
 * `kd.metrics` as namespaces (torch.nn, torch.optim, torch.utils.data, torchmetrics).
 * Importing it registers the CPU backend and every other backend package that is installed
 * (@kindling/backend-webgpu, @kindling/backend-cuda are optional peers).
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

/** Optional backends register themselves on import; a missing package is not an error. */
const optionalBackends = ['@kindling/backend-webgpu', '@kindling/backend-cuda'];
await Promise.all(optionalBackends.map((name) => import(name).catch(() => undefined)));
