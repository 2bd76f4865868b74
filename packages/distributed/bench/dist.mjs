#!/usr/bin/env node
// pnpm bench:dist — Gloo over loopback and DDP LeNet on this machine.
//   1. allReduce bandwidth, 2 ranks, 1 KB … 256 MB (host buffers; algbw = bytes / time and
//      busbw = algbw × 2(n−1)/n, nccl-tests' convention);
//   2. LeNet training throughput (synthetic 28×28 batches, global batch 256): 2 ranks × 1 cpu
//      thread each under DDP, against 1 process × 2 threads (KINDLING_CPU_THREADS).
// Options: --max-mb N (largest allreduce, default 256), --steps N (default 30), --json FILE.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const maxMb = Number(arg('max-mb', '256'));
const steps = Number(arg('steps', '30'));
const jsonFile = arg('json', join(here, '..', '..', '..', 'runs', 'bench-dist', `bench-dist-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function ranks(world, env) {
  const port = String(await freePort());
  const runs = Array.from({ length: world }, (_, rank) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [join(here, 'rank.mjs')], {
        env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, RANK: String(rank), WORLD_SIZE: String(world), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`rank ${rank} exited with ${code}`))));
    }),
  );
  return Promise.all(runs);
}

const sizes = [];
for (let b = 1024; b <= maxMb * 1024 * 1024; b *= 4) sizes.push(b);
const fmtBytes = (b) => (b >= 1 << 20 ? `${b / (1 << 20)} MB` : `${b / 1024} KB`);

// The load average goes with the figures: on a shared machine it says how much else was running.
const result = { date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgBefore: loadavg(), allreduce: [], lenet: {} };
console.log(`allReduce, 2 ranks over loopback (Gloo, host buffers) — ${result.cpu}, ${result.cpus} cores`);
console.log('| size | time | algbw | busbw |\n|---|---|---|---|');
const [r0] = await ranks(2, { KIND: 'allreduce', SIZES: sizes.join(','), KINDLING_CPU_THREADS: '1' });
for (const { bytes, ms, reps } of r0.results) {
  const algbw = bytes / (ms / 1000) / 1e9;
  const busbw = algbw * 2 * (2 - 1) / 2;
  result.allreduce.push({ bytes, ms, reps, algbwGBs: algbw, busbwGBs: busbw });
  console.log(`| ${fmtBytes(bytes)} | ${ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`} | ${algbw.toFixed(3)} GB/s | ${busbw.toFixed(3)} GB/s |`);
}

console.log(`\nLeNet training, global batch 256, ${steps} timed steps (synthetic batches)`);
const [single] = await ranks(1, { KIND: 'single', PER_RANK: '256', STEPS: String(steps), KINDLING_CPU_THREADS: '2' });
const ddp = await ranks(2, { KIND: 'ddp', PER_RANK: '128', STEPS: String(steps), KINDLING_CPU_THREADS: '1' });
const ddpMs = Math.max(...ddp.map((r) => r.ms));
result.lenet = { singleMs: single.ms, ddpMs, singleImgS: 256 / (single.ms / 1000), ddpImgS: 256 / (ddpMs / 1000) };
console.log('| configuration | ms / step | img/s |\n|---|---|---|');
console.log(`| 1 process × 2 threads | ${single.ms.toFixed(1)} | ${result.lenet.singleImgS.toFixed(0)} |`);
console.log(`| 2 ranks × 1 thread (DDP, Gloo) | ${ddpMs.toFixed(1)} | ${result.lenet.ddpImgS.toFixed(0)} |`);

result.loadavgAfter = loadavg();
console.log(`\nload average before ${result.loadavgBefore.map((l) => l.toFixed(1)).join(' ')}, after ${result.loadavgAfter.map((l) => l.toFixed(1)).join(' ')}`);
mkdirSync(dirname(jsonFile), { recursive: true });
writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\n${jsonFile}`);
