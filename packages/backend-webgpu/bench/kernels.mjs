#!/usr/bin/env node
/**
 * Times a few kernels on the WebGPU backend and on the CPU backend, side by side, for orientation
 * (on SwiftShader both run on the same CPU cores). Each row: best of `reps` runs after a warm-up,
 * each run ending in sync() so the GPU work is included.
 *
 *   node packages/backend-webgpu/bench/kernels.mjs [--reps 5]
 */
import { parseArgs } from 'node:util';
import { CpuBackend } from '@kindling/backend-cpu';
import { createWebGPUBackend } from '../dist/index.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' }, only: { type: 'string' } } });
const reps = Number(values.reps);
const gpu = await createWebGPUBackend();
const cpu = new CpuBackend();
console.log(`webgpu: ${gpu.info().implementation}`);

const view = (buffer, shape, strides = contiguous(shape), offset = 0) => ({ buffer, dtype: buffer.dtype, shape, strides, offset });
function contiguous(shape) {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}
function upload(be, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const b = be.alloc('float32', n);
  be.write(b, Float32Array.from({ length: n }, () => Math.random() - 0.5));
  return view(b, shape);
}
async function time(be, fn) {
  fn();
  await be.sync();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    await be.sync();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const conv = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
const cases = [
  ['matmul 256x256x256', (be) => { const a = upload(be, [1, 256, 256]), b = upload(be, [1, 256, 256]), c = upload(be, [1, 256, 256]); return () => be.matmul(a, b, c); }, 2 * 256 ** 3],
  ['matmul 512x512x512', (be) => { const a = upload(be, [1, 512, 512]), b = upload(be, [1, 512, 512]), c = upload(be, [1, 512, 512]); return () => be.matmul(a, b, c); }, 2 * 512 ** 3],
  ['conv2d LeNet c1 fwd [64,1,28,28]*[6,1,5,5] p2', (be) => { const x = upload(be, [64, 1, 28, 28]), w = upload(be, [6, 1, 5, 5]), y = upload(be, [64, 6, 28, 28]); return () => be.conv2d(x, w, null, { ...conv, padding: [2, 2] }, y); }, 2 * 64 * 6 * 28 * 28 * 25],
  ['conv2d 64->128 3x3 fwd [8,64,16,16]', (be) => { const x = upload(be, [8, 64, 16, 16]), w = upload(be, [128, 64, 3, 3]), y = upload(be, [8, 128, 14, 14]); return () => be.conv2d(x, w, null, conv, y); }, 2 * 8 * 128 * 14 * 14 * 64 * 9],
  ['conv2d 64->128 3x3 bwd input', (be) => { const gy = upload(be, [8, 128, 14, 14]), w = upload(be, [128, 64, 3, 3]), gx = upload(be, [8, 64, 16, 16]); return () => be.conv2dBackwardInput(gy, w, conv, gx); }, 2 * 8 * 128 * 14 * 14 * 64 * 9],
  ['conv2d 64->128 3x3 bwd weight', (be) => { const gy = upload(be, [8, 128, 14, 14]), x = upload(be, [8, 64, 16, 16]), gw = upload(be, [128, 64, 3, 3]); return () => be.conv2dBackwardWeight(gy, x, conv, gw); }, 2 * 8 * 128 * 14 * 14 * 64 * 9],
  ['maxPool2d 2x2 [64,16,24,24]', (be) => { const x = upload(be, [64, 16, 24, 24]), y = upload(be, [64, 16, 12, 12]); const i = view(be.alloc('int32', 64 * 16 * 144), [64, 16, 12, 12]); return () => be.maxPool2d(x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false, countIncludePad: true, divisorOverride: null }, y, i); }, 0],
  ['softmax [256,1000]', (be) => { const x = upload(be, [256, 1000]), y = upload(be, [256, 1000]); return () => be.softmax(x, false, y); }, 0],
  ['sum over last dim [1024,1024]', (be) => { const x = upload(be, [1024, 1024]), y = upload(be, [1024]); return () => be.reduce('sum', x, 1, y); }, 0],
  ['add [1M] + [1M]', (be) => { const a = upload(be, [1 << 20]), b = upload(be, [1 << 20]), c = upload(be, [1 << 20]); return () => be.binary('add', a, b, c); }, 0],
];
console.log('| kernel | webgpu ms | cpu ms |');
console.log('|---|---|---|');
for (const [name, make, flops] of cases) {
  if (values.only && !name.includes(values.only)) continue;
  const g = await time(gpu, make(gpu));
  const c = await time(cpu, make(cpu));
  const gf = (ms) => (flops ? ` (${(flops / ms / 1e6).toFixed(2)} GFLOP/s)` : '');
  console.log(`| ${name} | ${g.toFixed(2)}${gf(g)} | ${c.toFixed(2)}${gf(c)} |`);
}
