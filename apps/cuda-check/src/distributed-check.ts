#!/usr/bin/env node
/**
 * The distributed part of the device check, bundled like check.ts (scripts/bundle.mjs) and run by
 * scripts/run-on-gpu.sh (DIST=1 after the check, DIST_ONLY=1 alone). It starts its ranks as child
 * processes of itself, with torchrun's variables on 127.0.0.1 (as kindling-run and
 * packages/distributed's tests do), each killed by its PID when it outlives the limit:
 *
 *   nccl, world size 1     CUDA tensors reduced by NCCL on the device's stream (a single GPU cannot
 *                          hold two NCCL ranks); `nccl unavailable: <reason>` when NCCL cannot load
 *   gloo, 2 ranks          the device's tensors read back to the host, reduced by Gloo
 *   ddp lenet, 2 ranks     3 SGD steps of LeNet under DDP over Gloo against the single-process steps
 *                          on the concatenated batch (packages/distributed/test/ddp.test.ts's check)
 *
 * Every collective (allReduce sum/avg/min/max, int32, a strided view, broadcast, allGather,
 * reduceScatter, 8 in flight, barrier) is compared with the local computation on the same inputs
 * as packages/distributed's collectives test. One line per case (pass / fail / skip and why);
 * --json FILE writes the results. `--device cpu` runs it all on cpu tensors: how the bundle is
 * tested without a GPU (test/distributed.test.ts).
 *
 *   node distributed-check.mjs [--device cuda|cpu] [--json FILE] [--cases nccl,gloo,ddp] [--limit-ms N]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { addonStatus } from '@kindling/backend-cuda';
import * as dist from '@kindling/distributed';
import type { Module } from '@kindling/nn';
import { SGD } from '@kindling/optim';
// The inputs and the model of packages/distributed's own tests (plain ES modules), so that this
// check and those tests compute the same things.
// @ts-expect-error: a plain ES module fixture, typed loosely here
import { input as fixtureInput } from '../../../packages/distributed/test/fixtures/inputs.mjs';
// @ts-expect-error: a plain ES module fixture, typed loosely here
import { batch as fixtureBatch, lenet as fixtureLenet } from '../../../packages/distributed/test/fixtures/lenet.mjs';

const input = fixtureInput as (rank: number, n?: number) => number[];
const lenet = fixtureLenet as (bn: boolean) => Module;
const batch = fixtureBatch as (step: number, n: number) => [kd.Tensor, kd.Tensor];

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cuda' },
    json: { type: 'string' },
    cases: { type: 'string', default: 'nccl,gloo,ddp' },
    'limit-ms': { type: 'string', default: '60000' }, // 3 cases stay inside run-on-gpu.sh's 300 s
    role: { type: 'string' }, // set on the ranks this script starts: collectives | ddp | single
  },
});
const device = values.device!;
if (device !== 'cuda' && device !== 'cpu') throw new Error(`distributed-check: --device must be cuda or cpu, got '${device}'`);
const limitMs = Number(values['limit-ms']);
if (!(limitMs > 0)) throw new Error(`distributed-check: --limit-ms must be a positive number, got '${values['limit-ms']}'`);
const STEPS = 3;
const PER_RANK = 8;

// ---------------------------------------------------------------- the ranks (child processes)

async function useDevice(): Promise<void> {
  if (device === 'cpu') return;
  await kd.initDevice(device);
  kd.setDefaultDevice(device);
}

const read = async (t: kd.Tensor): Promise<number[]> => Array.from(await t.data());

/** One rank's collectives, as packages/distributed/test/fixtures/collectives.mjs runs them. */
async function collectivesRank(): Promise<Record<string, unknown>> {
  const backend = process.env.BACKEND as dist.Backend;
  const pg = await dist.initProcessGroup({ backend, timeoutMs: 20_000 }).catch((e: Error) => {
    if (/nccl unavailable/.test(e.message)) return e.message;
    throw e;
  });
  if (typeof pg === 'string') return { unavailable: pg };
  const { rank, worldSize } = pg;
  const f32 = (a: number[]) => kd.tensor(a, { dtype: 'float32' });
  const out: Record<string, unknown> = { rank, worldSize, device: f32([0]).device };
  for (const op of ['sum', 'avg', 'min', 'max'] as const) {
    const t = f32(input(rank));
    await dist.allReduce(t, op);
    out[op] = await read(t);
  }
  const i32 = kd.tensor(input(rank).map(Math.round), { dtype: 'int32' });
  await dist.allReduce(i32, 'sum');
  out.sumInt32 = await read(i32);
  const m = f32([rank, 1, 2, rank * 3]).reshape([2, 2]).t(); // a strided view, reduced in place
  await dist.allReduce(m);
  out.strided = await read(m.contiguous());
  const b = f32(input(rank));
  await dist.broadcast(b, worldSize - 1);
  out.broadcast = await read(b);
  const outs = Array.from({ length: worldSize }, () => kd.zeros([5]));
  await dist.allGather(outs, f32(input(rank)));
  out.allGather = await Promise.all(outs.map(read));
  const rs = kd.zeros([3]);
  await dist.reduceScatter(rs, Array.from({ length: worldSize }, (_, j) => f32(input(rank + 10 * j, 3))));
  out.reduceScatter = await read(rs);
  const many = Array.from({ length: 8 }, (_, k) => f32([rank + k]));
  await Promise.all(many.map((t) => dist.allReduce(t)));
  out.inFlight = (await Promise.all(many.map(read))).map((a) => a[0]);
  // NCCL has no barrier here (packages/distributed's README): its clear refusal is the expected result.
  out.barrier = await Promise.resolve()
    .then(() => dist.barrier())
    .then(
      () => 'ok',
      (e: Error) => `error: ${e.message}`,
    );
  dist.destroyProcessGroup();
  return out;
}

async function stateOf(net: Module): Promise<Record<string, number[]>> {
  const state: Record<string, number[]> = {};
  for (const [k, v] of net.stateDict()) state[k] = await read(v as kd.Tensor);
  return state;
}

/** One DDP rank (packages/distributed/test/fixtures/ddp.mjs's plain mode) on this device's tensors. */
async function ddpRank(): Promise<Record<string, unknown>> {
  const pg = await dist.initProcessGroup({ backend: 'gloo', timeoutMs: 30_000 });
  const net = lenet(false);
  // Different initial weights off rank 0: wrapping must broadcast rank 0's.
  if (pg.rank > 0) kd.noGrad(() => net.parameters().forEach((p) => p.mul_(0.5)));
  const ddp = await dist.DistributedDataParallel.create(net, { bucketCapMb: 0.05 }); // several buckets
  const opt = new SGD(net.parameters(), { lr: 0.9 });
  for (let s = 0; s < STEPS; s++) {
    const [x, y] = batch(s, PER_RANK * pg.worldSize);
    opt.zeroGrad();
    const lo = pg.rank * PER_RANK;
    kd.crossEntropy(ddp.call(x.narrow(0, lo, PER_RANK)) as kd.Tensor, y.narrow(0, lo, PER_RANK)).backward();
    await ddp.synchronize();
    opt.step();
  }
  const out = { rank: pg.rank, device: net.parameters()[0]!.device, buckets: ddp.bucketSizes, state: await stateOf(net) };
  dist.destroyProcessGroup();
  return out;
}

/** The single-process reference of ddpRank: the same steps on the concatenated batch. */
async function singleRank(): Promise<Record<string, unknown>> {
  const world = Number(process.env.WORLD);
  const net = lenet(false);
  const opt = new SGD(net.parameters(), { lr: 0.9 });
  for (let s = 0; s < STEPS; s++) {
    const [x, y] = batch(s, PER_RANK * world);
    opt.zeroGrad();
    kd.crossEntropy(net.call(x), y).backward();
    opt.step();
  }
  return { device: net.parameters()[0]!.device, state: await stateOf(net) };
}

// ---------------------------------------------------------------- the driver

const RANK_ERROR = 'distributed-check rank error: ';

interface Exit {
  rank: string;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ReturnType<typeof spawn>>();
// No rank outlives the check, also when it is stopped (run-on-gpu.sh's timeout sends SIGTERM).
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(128 + (sig === 'SIGTERM' ? 15 : 2)));

/** This script again in `role`, with extra env; killed by its PID after limitMs. */
function start(role: string, env: Record<string, string>): Promise<Exit> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, '--role', role, '--device', device], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n[distributed-check] ${role} still running after ${limitMs} ms: killed (pid ${child.pid})\n`;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ rank: env.RANK ?? '0', code, signal, stdout, stderr });
    }),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** `world` ranks of `role` on a free loopback port; each one's last JSON line. */
async function ranks(role: string, world: number, env: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const port = String(await freePort());
  const exits = await Promise.all(
    Array.from({ length: world }, (_, rank) =>
      start(role, { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, RANK: String(rank), LOCAL_RANK: '0', WORLD_SIZE: String(world), ...env }),
    ),
  );
  return exits.map(lastJson);
}

function lastJson(e: Exit): Record<string, unknown> {
  if (e.code !== 0) {
    const lines = e.stderr.trim().split('\n');
    const why = lines.filter((l) => l.startsWith(RANK_ERROR)).map((l) => l.slice(RANK_ERROR.length));
    throw new Error(`rank ${e.rank} failed (code ${e.code}, signal ${e.signal}): ${(why.length ? why : lines.slice(-6)).join(' | ')}`);
  }
  const lines = e.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

const f32 = (a: number[]): number[] => Array.from(Float32Array.from(a));
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

/** [] when the rank's tensors were on --device's device, or what they were on. */
function onDevice(r: Record<string, unknown>): string[] {
  return String(r.device).split(':')[0] === device ? [] : [`tensors on ${String(r.device)}, not ${device}`];
}

/** What differs between one rank's collectives and the local computation; [] when nothing does. */
function compareCollectives(r: Record<string, unknown>, world: number, backend: string): string[] {
  const bad = onDevice(r);
  const inputs = Array.from({ length: world }, (_, k) => f32(input(k)));
  const fold = (fn: (a: number, b: number) => number) => inputs[0]!.map((_, i) => inputs.map((x) => x[i]!).reduce(fn));
  const sum = fold((a, b) => a + b);
  const n = (world * (world - 1)) / 2;
  const mine = [0, 1, 2].map((i) => inputs.reduce((s, _, k) => s + f32(input(k + 10 * (r.rank as number), 3))[i]!, 0));
  const expected: [string, number[] | number[][], boolean][] = [
    ['sum', sum, false],
    ['avg', sum.map((v) => v / world), false],
    ['min', f32(fold((a, b) => Math.min(a, b))), true],
    ['max', f32(fold((a, b) => Math.max(a, b))), true],
    ['sumInt32', input(0).map((_, i) => inputs.reduce((s, _x, k) => s + Math.round(input(k)[i]!), 0)), true],
    ['strided', [n, 2 * world, world, 3 * n], true], // [[rank, 1], [2, 3 rank]]ᵀ summed
    ['broadcast', inputs[world - 1]!, true],
    ['allGather', inputs, true],
    ['reduceScatter', mine, false],
    ['inFlight', Array.from({ length: 8 }, (_, k) => n + world * k), true],
  ];
  for (const [name, want, exact] of expected) {
    const got = (r[name] as number[] | number[][] | undefined)?.flat() ?? [];
    const w = want.flat();
    const ok = got.length === w.length && got.every((v, i) => (exact ? v === w[i] : close(v, w[i]!)));
    if (!ok) bad.push(`${name}: got [${got.slice(0, 6).join(', ')}], want [${w.slice(0, 6).join(', ')}]`);
  }
  const barrierOk = backend === 'nccl' ? /no barrier of its own/.test(String(r.barrier)) : r.barrier === 'ok';
  if (!barrierOk) bad.push(`barrier: ${String(r.barrier)}`);
  return bad;
}

/** What one case found: pass / fail / skip, why, and its evidence. */
interface Outcome {
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  [k: string]: unknown;
}
type Case = Outcome & { name: string; ms: number };

async function collectivesCase(backend: 'nccl' | 'gloo', world: number): Promise<Outcome> {
  if (backend === 'nccl') {
    const s = dist.ncclStatus();
    if (s.available && device !== 'cuda') return { status: 'skip', detail: `NCCL ${s.version} is here, but it reduces CUDA tensors only (--device ${device})` };
  }
  const results = await ranks('collectives', world, { BACKEND: backend });
  const why = results[0]!.unavailable;
  if (why) return { status: 'skip', detail: String(why) };
  const bad = results.flatMap((r) => compareCollectives(r, world, backend).map((b) => `rank ${String(r.rank)}: ${b}`));
  const barrier = backend === 'nccl' ? '; barrier refused as documented' : '';
  return bad.length ? { status: 'fail', detail: bad.join('; '), results } : { status: 'pass', detail: `allReduce sum/avg/min/max/int32/strided, broadcast, allGather, reduceScatter, 8 in flight${barrier}`, results };
}

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let m = 0;
  for (const [k, v] of Object.entries(a)) {
    v.forEach((x, i) => {
      const d = Math.abs(x - (b[k]?.[i] ?? Number.NaN));
      m = Math.max(m, Number.isNaN(d) ? Infinity : d); // a missing or NaN entry is a failure
    });
  }
  return m;
}

async function ddpCase(world: number): Promise<Outcome> {
  // Full FP32 on cuda (TF32 convolutions off), as the check's other correctness parts: the DDP and
  // single-process runs then differ only in the order of FP32 sums.
  const fp32 = { KINDLING_CUDA_ALLOW_TF32: '0' };
  const [rs, [single]] = await Promise.all([ranks('ddp', world, fp32), ranks('single', 1, { ...fp32, WORLD: String(world) })]);
  const states = rs.map((r) => r.state as Record<string, number[]>);
  const buckets = rs[0]!.buckets as number[];
  const between = Math.max(...states.slice(1).map((s) => maxDiff(states[0]!, s)));
  const vsSingle = maxDiff(states[0]!, single!.state as Record<string, number[]>);
  const detail = `${STEPS} SGD steps, ${buckets.length} buckets of ${buckets.reduce((a, b) => a + b, 0)} parameters; ranks differ by ${between}, max |DDP - single| ${vsSingle.toExponential(2)} (limit 2e-5)`;
  const wrong = [...rs, single!].flatMap(onDevice);
  const ok = between === 0 && vsSingle < 2e-5 && buckets.length > 1 && wrong.length === 0;
  return { status: ok ? 'pass' : 'fail', detail: [detail, ...wrong].join('; '), maxDiff: vsSingle, buckets };
}

async function driver(): Promise<void> {
  const native = dist.nativeStatus();
  const nccl = dist.ncclStatus();
  let glooPackage: string;
  try {
    // Where the loader finds the platform package: beside the bundle (.device/node_modules) on a GPU host.
    glooPackage = dirname(createRequire(import.meta.url).resolve('@kindling/distributed-linux-x64-gnu/package.json'));
  } catch (e) {
    glooPackage = `not found: ${(e as Error).message.split('\n')[0]}`;
  }
  const header = {
    device,
    glooPackage,
    gloo: native.addon ? `Gloo ${native.addon.glooVersion} from ${native.source}` : `gloo unavailable: ${native.reason}`,
    nccl: nccl.available ? `NCCL ${nccl.version}` : `nccl unavailable: ${nccl.reason}`,
    cuda: device === 'cuda' ? { deviceCount: addonStatus().deviceCount, reason: addonStatus().reason } : undefined,
  };
  console.log(`distributed check on ${device}: ${header.gloo}; ${header.nccl}`);
  const wanted = new Set(values.cases!.split(','));
  const plan: [string, string, () => Promise<Outcome>][] = [
    ['nccl', `nccl, world size 1, ${device} tensors`, () => collectivesCase('nccl', 1)],
    ['gloo', `gloo, 2 ranks, ${device} tensors`, () => collectivesCase('gloo', 2)],
    ['ddp', `ddp lenet, 2 ranks over gloo, ${device} tensors`, () => ddpCase(2)],
  ];
  const cases: Case[] = [];
  for (const [key, name, run] of plan) {
    if (!wanted.has(key)) continue;
    const t0 = Date.now();
    const c = await run().catch((e: Error): Outcome => ({ status: 'fail', detail: e.message }));
    cases.push({ name, ms: Date.now() - t0, ...c });
    console.log(`${c.status.padEnd(4)}  ${name.padEnd(42)} ${String(Date.now() - t0).padStart(6)} ms  ${c.detail}`);
  }
  const failed = cases.filter((c) => c.status === 'fail').length;
  console.log(`distributed: ${cases.filter((c) => c.status === 'pass').length} passed, ${failed} failed, ${cases.filter((c) => c.status === 'skip').length} skipped`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ ...header, cases }, null, 1)}\n`);
  process.exitCode = failed ? 1 : 0;
}

const roles: Record<string, () => Promise<Record<string, unknown>>> = { collectives: collectivesRank, ddp: ddpRank, single: singleRank };
if (values.role) {
  const role = roles[values.role];
  if (!role) throw new Error(`distributed-check: --role must be one of ${Object.keys(roles).join(', ')}, got '${values.role}'`);
  try {
    await useDevice();
    process.stdout.write(`${JSON.stringify(await role())}\n`);
  } catch (e) {
    // One line the driver quotes, ahead of the stack.
    process.stderr.write(`${RANK_ERROR}${(e as Error).message.split('\n')[0]}\n${(e as Error).stack}\n`);
    process.exit(1);
  }
} else {
  await driver();
}
