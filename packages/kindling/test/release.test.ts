/**
 * The release rehearsal (scripts/release-rehearsal.mjs): changeset version on a copy, publish to
 * Verdaccio on 127.0.0.1, publint + attw on every tarball, then as npm users: (a) npm install
 * kindling + examples/lenet-node on the prebuilt native cpu path, examples/safetensors-torch
 * against PyTorch, (b) a step on webgpu in Node, (c) the CUDA backend's reason, (d) the Vite
 * example in headless Chromium, (e) @kindling/distributed on its prebuilt Gloo. The script stops
 * Verdaccio by its process group in `finally`; the test kills the script's own group if it runs
 * past its time.
 *
 * Skipped, with the reason, only where a prerequisite of the machine is absent: Chromium (d) and
 * SwiftShader's Vulkan ICD (b, d). Without nvcc the CUDA platform package cannot be built, so it
 * is published without its addon (--skip-missing, said in the log) and (c) reports that.
 * `pnpm test` builds first; the rehearsal publishes that build.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/release-rehearsal.mjs', import.meta.url));
const CHROMIUM = process.env.KINDLING_CHROMIUM ?? '/usr/bin/chromium';
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LIMIT_MS = 540_000;

const steps = ['a', 'c', 'e'];
const missing: string[] = [];
if (existsSync(ICD)) steps.push('b');
else missing.push(`(b) webgpu in Node: no SwiftShader ICD at ${ICD} (apt-get install chromium libvulkan1)`);
if (existsSync(CHROMIUM) && existsSync(ICD)) steps.push('d');
else missing.push(`(d) the Vite page: no ${CHROMIUM} with SwiftShader (apt-get install chromium)`);
const hasNvcc = existsSync('/usr/local/cuda/bin/nvcc') || (() => {
  try {
    execFileSync('nvcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNvcc) missing.push('the CUDA platform package\'s addon: no nvcc to build it (published without it)');
for (const m of missing) console.warn(`[release] skipped ${m}`);

function rehearse(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const argv = [SCRIPT, '--only', steps.sort().join(','), ...(hasNvcc ? [] : ['--skip-missing'])];
    const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[release] killed after ${LIMIT_MS / 1000} s`;
      process.kill(-child.pid!, 'SIGTERM'); // the script's handler stops Verdaccio, then exits
      setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 10_000).unref();
    }, LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('release rehearsal', () => {
  it(`publishes every package to a local registry and installs it as npm users do (${steps.join(', ')})`, { timeout: LIMIT_MS + 30_000 }, async () => {
    const { code, out } = await rehearse();
    console.log(out.split('\n').filter((l) => l.startsWith('[rehearsal]')).join('\n'));
    expect(code, out).toBe(0);
    const figures = JSON.parse(/^rehearsal: (.*)$/m.exec(out)![1]!);
    expect(figures.versions.kindling).toMatch(/^\d+\.\d+\.\d+$/);
    if (steps.includes('a')) expect(figures.steps.a.implementation).toMatch(/^native .* from @kindling\/backend-cpu-linux-x64-gnu/);
    if (steps.includes('b')) expect(figures.steps.b.gradNorm).toBeGreaterThan(0);
    if (steps.includes('c')) expect(figures.steps.c.available || figures.steps.c.reason.length > 0).toBe(true);
    if (steps.includes('e')) expect(figures.steps.e.source).toBe('@kindling/distributed-linux-x64-gnu');
    if (steps.includes('d')) expect(figures.steps.d.devices.find((d: { kind: string }) => d.kind === 'webgpu').available).toBe(true);
  });
});
