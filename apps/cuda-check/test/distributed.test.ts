/**
 * The distributed part of the device check (src/distributed-check.ts) as a GPU host gets it:
 * packed by scripts/pack-distributed.mjs into a temporary folder (the bundle, and the Gloo addon
 * with its libraries in the platform package's layout), then run from there with `--device cpu`:
 * Gloo across 2 ranks and DDP LeNet on 2 ranks on cpu tensors, NCCL reporting why it cannot run.
 * On a GPU host, scripts/run-on-gpu.sh runs the same file with `--device cuda`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EMULATOR_ADDON as emulator, EMULATOR_ENV } from '@kindling/backend-cuda/emulator';

const pack = fileURLToPath(new URL('../scripts/pack-distributed.mjs', import.meta.url));
const addon = fileURLToPath(new URL('../../../packages/distributed-linux-x64-gnu/kindling_distributed.node', import.meta.url));
const missing = existsSync(addon) ? null : `${addon} was not built (cmake, g++, libgloo-dev missing?)`;
if (missing) console.warn(`cuda-check's distributed check skipped: ${missing}`);
const noEmulator = existsSync(emulator) ? null : `${emulator} was not built (g++ missing?)`;
if (noEmulator) console.warn(`cuda-check's distributed check on the CUDA emulator skipped: ${noEmulator}`);

/** node ARGS, killed by its PID after limitMs whatever happens; its exit code and output. */
function node(args: string[], limitMs: number, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // SIGTERM first: the check then kills its ranks by their PIDs before it exits.
  const timer = setTimeout(() => {
    stderr += `\n[test] still running after ${limitMs} ms: stopped\n`;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  }, limitMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Runs the packed check with --device `device`; asserts the cases' lines and JSON. */
async function check(dir: string, device: string, env: Record<string, string> = {}): Promise<void> {
  const json = join(dir, `distributed-${device}.json`);
  const r = await node([join(dir, 'distributed-check.mjs'), '--device', device, '--json', json, '--limit-ms', '60000'], 150_000, env);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^pass +gloo, 2 ranks, ${device} tensors `, 'm'));
  expect(r.stdout).toMatch(new RegExp(`^pass +ddp lenet, 2 ranks over gloo, ${device} tensors `, 'm'));
  expect(r.stdout).toMatch(new RegExp(`^skip +nccl, world size 1, ${device} tensors .*nccl unavailable: `, 'm'));
  expect(r.stdout).toMatch(/^distributed: 2 passed, 0 failed, 1 skipped$/m);
  const out = JSON.parse(readFileSync(json, 'utf8')) as { glooPackage: string; gloo: string; cases: { status: string; buckets?: number[] }[] };
  // The bundle loaded the addon carried beside it, not the workspace's.
  expect(out.glooPackage).toBe(join(dir, 'node_modules', '@kindling', 'distributed-linux-x64-gnu'));
  expect(out.gloo).toMatch(/^Gloo [\d.]+ from @kindling\/distributed-linux-x64-gnu$/);
  expect(out.cases.map((c) => c.status)).toEqual(['skip', 'pass', 'pass']);
  expect(out.cases[2]!.buckets!.reduce((a, b) => a + b)).toBe(61706);
}

describe.skipIf(missing !== null)("cuda-check's distributed check, packed as for a GPU host", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kd-dist-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('packs the bundle and the Gloo addon with its libraries', async () => {
    const packed = await node([pack, dir], 60_000);
    expect(packed.code, packed.stderr).toBe(0);
    for (const f of ['distributed-check.mjs', 'node_modules/@kindling/distributed-linux-x64-gnu/kindling_distributed.node', 'node_modules/@kindling/distributed-linux-x64-gnu/libgloo.so.0']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  }, 120_000);

  it('on cpu: Gloo collectives and DDP LeNet on 2 ranks from the carried addon; NCCL says why it is unavailable', () => check(dir, 'cpu'), 240_000);

  // The CUDA backend's kernels built for the CPU (packages/backend-cuda/emu): the ranks' tensors are
  // cuda tensors, read back asynchronously for Gloo, as on a GPU host.
  it.skipIf(noEmulator !== null)('on cuda (the CUDA emulator): the same with cuda tensors', () =>
    check(dir, 'cuda', EMULATOR_ENV), 240_000);
});
