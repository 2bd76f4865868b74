/**
 * The parent's handle on one contender process: spawn, send a request, await its one-line reply
 * with a deadline (a contender that takes too long is killed and reported, never waited on).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { webgpuEnv } from './dawn.js';
import type { Reply, Request } from './protocol.js';
import { flagString } from '@kindling/core/backend';

export class TimeoutError extends Error {}

export class Contender {
  private readonly proc: ChildProcess;
  private readonly lines: Interface;
  private readonly pending: ((line: string | null) => void)[] = [];
  private stderr = '';
  private exited = false;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.proc.stdout! });
    this.lines.on('line', (l) => this.pending.shift()?.(l));
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.proc.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.splice(0)) p(null);
    });
    this.proc.on('error', (e) => {
      this.stderr += String(e);
    });
  }

  /** Sends a request; resolves with the reply, or throws on a timeout or a dead process. */
  request(req: Request, timeoutSeconds: number): Promise<Reply> {
    if (this.exited) return Promise.reject(new Error(`process exited: ${this.lastError()}`));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new TimeoutError(`no answer within ${timeoutSeconds} s`));
      }, timeoutSeconds * 1000);
      this.pending.push((line) => {
        clearTimeout(timer);
        if (line === null) reject(new Error(`process exited: ${this.lastError()}`));
        else resolve(JSON.parse(line) as Reply);
      });
      this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    });
  }

  lastError(): string {
    // Vulkan loaders/drivers (SwiftShader under Dawn) print "error: XDG_RUNTIME_DIR is invalid…"
    // at exit; it is never why a contender failed.
    const lines = this.stderr.trim().split('\n').filter((l) => l.trim() && !/XDG_RUNTIME_DIR/.test(l));
    const error = lines.filter((l) => /error/i.test(l)).slice(-1)[0];
    return (error ?? lines.slice(-1)[0])?.slice(0, 300) ?? 'no output';
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin!.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
    const t = setTimeout(() => this.kill(), 5000);
    await done;
    clearTimeout(t);
  }
}

/** The Node worker entry: dist/worker.js (also when this module runs from src/ under vitest). */
export const WORKER = ((): string => {
  const beside = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../dist/worker.js', import.meta.url));
})();
/** The PyTorch script (apps/bench/python/bench_torch.py). */
export const TORCH_SCRIPT = fileURLToPath(new URL('../python/bench_torch.py', import.meta.url));

/**
 * A Python that can `import torch`: $KINDLING_BENCH_PYTHON, then `python3` on the PATH, then
 * /usr/bin/python3 (Debian's python3-torch, when a pyenv or venv python3 comes first). Returns the
 * interpreter, or null with what was tried.
 */
export function findTorchPython(): { python: string | null; tried: string } {
  const candidates = [flagString('KINDLING_BENCH_PYTHON'), 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return { python: py, tried: '' };
    tried.push(`${py}: ${r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(-1)[0]}`);
  }
  return { python: null, tried: tried.join('; ') };
}

/**
 * Whether a WebGPU adapter answers in a fresh contender process with the environment the bench
 * gives webgpu contenders (webgpuEnv): `{ ok: true, adapter }` or `{ ok: false, reason }`.
 */
export function probeWebGPU(): { ok: true; adapter: string } | { ok: false; reason: string } {
  const r = spawnSync(process.execPath, [WORKER, 'probe:webgpu'], { env: webgpuEnv(process.env), encoding: 'utf8', timeout: 120000 });
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).slice(-1)[0];
  if (!line) {
    const why = r.error?.message || (r.stderr || '').trim().split('\n').slice(-1)[0] || `exit status ${r.status}`;
    return { ok: false, reason: `the WebGPU probe printed nothing (${why})` };
  }
  const p = JSON.parse(line) as { ok: boolean; adapter?: string; error?: string };
  return p.ok ? { ok: true, adapter: p.adapter! } : { ok: false, reason: p.error ?? 'unknown' };
}
