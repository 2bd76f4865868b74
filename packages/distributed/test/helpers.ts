import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A port that was free a moment ago (the OS picks it), on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Proc {
  child: ChildProcess;
  /** Resolves when the process has exited; a process still running after `limitMs` is killed (SIGKILL) and reported. */
  exit: Promise<Exit>;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string): Promise<void>;
}

/** Starts `node <fixture>` with extra env; stopped by its PID after limitMs whatever happens. */
export function startNode(script: string, env: Record<string, string>, limitMs = 60_000, args: string[] = []): Proc {
  const t0 = Date.now();
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of waiters.filter((w) => stdout.includes(w.text))) w.resolve();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n[test] still running after ${limitMs} ms: killed\n`;
    child.kill('SIGKILL');
  }, limitMs);
  const exit = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
  return {
    child,
    exit,
    waitFor: (text) => new Promise((resolve) => (stdout.includes(text) ? resolve() : waiters.push({ text, resolve }))),
  };
}

/** Starts `world` ranks of a fixture with torchrun's variables on loopback. */
export async function startRanks(fixture: string, world: number, env: Record<string, string> = {}, limitMs = 60_000): Promise<Proc[]> {
  const port = await freePort();
  return Array.from({ length: world }, (_, rank) =>
    startNode(join(FIXTURES, fixture), { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(world), ...env }, limitMs),
  );
}

/** The last JSON line of a successful process's stdout. */
export function lastJson<T>(e: Exit): T {
  if (e.code !== 0) throw new Error(`process failed (code ${e.code}, signal ${e.signal}):\n${e.stderr}`);
  const lines = e.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
