import { opSuite } from './op-suite.js';

// The native path (skipped when the addon is not built: the portable path is the reference).
await opSuite('cpu', () => 40);
