/**
 * `kindling/webgpu`: the umbrella plus the WebGPU backend, as static imports a bundler follows
 * (the page still runs `await kd.initDevice('webgpu')` before its first WebGPU tensor).
 */
import '@kindling/backend-webgpu';

export * from './index.js';
