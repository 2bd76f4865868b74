#!/usr/bin/env node
/**
 * kindling-run: torchrun's launcher for Node scripts.
 *
 *   kindling-run --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] script.js [args…]
 *
 * Starts N copies of `node script.js args…` on this node with torchrun's environment (RANK,
 * LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT) and watches
 * them: when one fails, the others are stopped (SIGTERM, then SIGKILL after a grace period) and
 * the failing rank's last stderr lines are shown; the launcher exits with that rank's code.
 * Each rank's output lines are prefixed with `[rank R]`. SIGINT/SIGTERM are passed on to the ranks.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const USAGE = 'usage: kindling-run --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] script.js [args…]';
const GRACE_MS = 5000;
const TAIL_LINES = 40;

interface Options {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  script: string;
  args: string[];
}

function die(msg: string): never {
  process.stderr.write(`kindling-run: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]): Options {
  const o: Partial<Options> = { nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 };
  const ints: Record<string, keyof Options> = { 'nproc-per-node': 'nprocPerNode', nnodes: 'nnodes', 'node-rank': 'nodeRank', 'master-port': 'masterPort' };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) break;
    // torchrun accepts both --nproc-per-node and --nproc_per_node, and --flag=value.
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/_/g, '-');
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (name === 'help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (value === undefined) die(`--${name} needs a value`);
    if (name === 'master-addr') o.masterAddr = value;
    else if (name in ints) {
      const n = Number(value);
      const min = name === 'node-rank' ? 0 : 1;
      if (!Number.isInteger(n) || n < min) die(`--${name} must be an integer ≥ ${min}, got '${value}'`);
      (o as Record<string, unknown>)[ints[name]!] = n;
    } else die(`unknown option --${name}`);
  }
  if (o.nprocPerNode === undefined) die('--nproc-per-node is required');
  if (o.nodeRank! >= o.nnodes!) die(`--node-rank ${o.nodeRank} must be below --nnodes ${o.nnodes}`);
  if (o.masterPort! > 65535) die(`--master-port must be at most 65535, got ${o.masterPort}`);
  const script = argv[i];
  if (!script) die('no script given');
  return { ...(o as Options), script, args: argv.slice(i + 1) };
}

/** Forwards a stream line by line with a prefix, keeping the last lines for the failure report. */
function pipeLines(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, prefix: string, tail: string[]): void {
  let buf = '';
  stream.setEncoding('utf8');
  const emit = (line: string) => {
    out.write(`${prefix}${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      emit(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  stream.on('end', () => buf && emit(buf));
}

function main(): void {
  const o = parse(process.argv.slice(2));
  const world = o.nnodes * o.nprocPerNode;
  const ranks: { rank: number; child: ChildProcess; tail: string[]; exited: Promise<void> }[] = [];
  let failed: { rank: number; pid: number; why: string; code: number; tail: string[] } | null = null;
  let stopping = false;

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const r of ranks) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill(signal);
    setTimeout(() => {
      for (const r of ranks) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }, GRACE_MS).unref();
  };

  for (let local = 0; local < o.nprocPerNode; local++) {
    const rank = o.nodeRank * o.nprocPerNode + local;
    const env = {
      ...process.env,
      RANK: String(rank),
      LOCAL_RANK: String(local),
      WORLD_SIZE: String(world),
      LOCAL_WORLD_SIZE: String(o.nprocPerNode),
      GROUP_RANK: String(o.nodeRank),
      MASTER_ADDR: o.masterAddr,
      MASTER_PORT: String(o.masterPort),
    };
    const child = spawn(process.execPath, [...process.execArgv, o.script, ...o.args], { env, stdio: ['inherit', 'pipe', 'pipe'] });
    const tail: string[] = [];
    pipeLines(child.stdout!, process.stdout, `[rank ${rank}] `, []);
    pipeLines(child.stderr!, process.stderr, `[rank ${rank}] `, tail);
    const exited = new Promise<void>((resolve) => {
      child.on('error', (e) => {
        failed ??= { rank, pid: child.pid ?? -1, why: `could not start: ${e.message}`, code: 1, tail };
        stopAll('SIGTERM');
        resolve();
      });
      child.on('close', (code, signal) => {
        if (code !== 0 && !stopping) {
          failed ??= { rank, pid: child.pid ?? -1, why: signal ? `was killed by ${signal}` : `exited with code ${code}`, code: code ?? 1, tail };
          stopAll('SIGTERM');
        }
        resolve();
      });
    });
    ranks.push({ rank, child, tail, exited });
  }

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      failed ??= { rank: -1, pid: process.pid, why: `the launcher received ${sig}`, code: 130, tail: [] };
      stopAll(sig);
    });
  }

  void Promise.all(ranks.map((r) => r.exited)).then(() => {
    if (!failed) process.exit(0);
    const f = failed;
    if (f.rank >= 0) {
      process.stderr.write(`kindling-run: rank ${f.rank} (pid ${f.pid}) ${f.why}; the other ranks were stopped.\n`);
      if (f.tail.length) process.stderr.write(`kindling-run: the last lines of rank ${f.rank}'s stderr:\n${f.tail.map((l) => `  ${l}`).join('\n')}\n`);
    } else process.stderr.write(`kindling-run: ${f.why}; the ranks were stopped.\n`);
    process.exit(f.code || 1);
  });
}

main();
