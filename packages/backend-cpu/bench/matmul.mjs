// Single-threaded matmul throughput of the CPU backend's portable (TypeScript) path: `node packages/backend-cpu/bench/matmul.mjs [sizes...]`
// (build first: `npx tsc -b packages/backend-cpu`). Reports the best of several timed runs after warm-up.
import { CpuBackend } from '../dist/index.js';

const be = new CpuBackend({ native: false });
const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(64, 128, 256, 512, 1024);

function view(buffer, shape, strides) {
  return { buffer, dtype: 'float32', shape, strides, offset: 0 };
}

for (const n of sizes) {
  const a = be.alloc('float32', n * n);
  const b = be.alloc('float32', n * n);
  const c = be.alloc('float32', n * n);
  be.write(a, Float32Array.from({ length: n * n }, () => Math.random() - 0.5));
  be.write(b, Float32Array.from({ length: n * n }, () => Math.random() - 0.5));
  const cases = {
    'a·b': [view(a, [1, n, n], [0, n, 1]), view(b, [1, n, n], [0, n, 1])],
    'a·bᵀ': [view(a, [1, n, n], [0, n, 1]), view(b, [1, n, n], [0, 1, n])],
    'aᵀ·b': [view(a, [1, n, n], [0, 1, n]), view(b, [1, n, n], [0, n, 1])],
  };
  const flops = 2 * n ** 3;
  const reps = Math.max(3, Math.min(50, Math.round(2e9 / flops)));
  const parts = [];
  for (const [name, [va, vb]] of Object.entries(cases)) {
    const out = view(c, [1, n, n], [n * n, n, 1]);
    for (let i = 0; i < 3; i++) be.matmul(va, vb, out);
    let best = Infinity;
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      be.matmul(va, vb, out);
      best = Math.min(best, performance.now() - t);
    }
    parts.push(`${name} ${(flops / best / 1e6).toFixed(2)} GFLOP/s (${best.toFixed(2)} ms)`);
  }
  console.log(`${n}x${n}x${n}: ${parts.join(', ')}`);
  be.free(a); be.free(b); be.free(c);
}
