/**
 * kindling: the umbrella package. Importing it loads autograd and registers every backend
 * package that is installed, so `import * as kd from 'kindling'` is PyTorch's `import torch`.
 * À la carte users import @kindling/core, @kindling/autograd and one backend instead.
 */
import '@kindling/autograd';
import '@kindling/backend-cpu';

export * from '@kindling/core';
export { backward, gradcheck, type GradcheckOptions, type GradcheckResult, type BackwardOptions } from '@kindling/autograd';
