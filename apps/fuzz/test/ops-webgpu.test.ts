import { opSuite } from './op-suite.js';

// SwiftShader compiles a pipeline per new geometry, so convolutions get fewer cases (~1 s each).
await opSuite('webgpu', (op) => (op === 'conv2d' ? 4 : 10));
