import { opSuite } from './op-suite.js';

// On a GPU when there is one, else the addon's kernels on the CPU emulator (packages/backend-cuda/emu).
await opSuite('cuda', () => 15);
