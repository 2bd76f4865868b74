/** `kindling/cuda`: the umbrella plus the CUDA backend (Node only: a native addon). */
import '@kindling/backend-cuda';

export * from './index.js';
