#!/usr/bin/env node
/**
 * pnpm fuzz [--seconds N | --runs N] [--target ops,idx,safetensors,checkpoint] [--backend cpu,webgpu,cuda]
 *           [--op NAME,...] [--seed S] [--out DIR]
 *
 * The op properties (every op and its gradient against the cpu portable reference, on each
 * backend this machine has) and the parser fuzzers (mutated real files), for as long as asked:
 * --seconds splits the time evenly (half to the ops, half to the parsers when both run), --runs
 * gives each op that many cases and each parser that many inputs. Prints one line per op and
 * backend or parser, the shrunk case of every failure, and closes with `N passed, N failed`.
 */
import { BACKENDS, prepare, SPECIALS, TOLERANCE, type BackendName } from './backends.js';
import { checkOp } from './check.js';
import { OPS } from './ops.js';
import { fuzzParser } from './parsers.js';
import { TARGETS, type TargetName } from './targets.js';

const USAGE = `usage: pnpm fuzz [--seconds N | --runs N] [--target ops,${TARGETS.join(',')}] [--backend ${BACKENDS.join(',')}] [--op NAME,...] [--seed S] [--out DIR]`;

interface CliOptions {
  seconds: number | null;
  runs: number | null;
  targets: ('ops' | TargetName)[];
  backends: BackendName[];
  ops: string[] | null;
  seed: number;
  out: string;
}

function fail(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const xs = value.split(',').filter(Boolean);
  for (const x of xs) if (!allowed.includes(x as T)) fail(`${flag} ${x}: not one of ${allowed.join(', ')}`);
  return xs as T[];
}

function positive(flag: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`${flag} needs a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { seconds: null, runs: null, targets: ['ops', ...TARGETS], backends: [...BACKENDS], ops: null, seed: Math.floor(Math.random() * 2 ** 31), out: 'runs/fuzz' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (value === undefined) fail(`${flag} needs a value`);
    i++;
    if (flag === '--seconds') o.seconds = positive(flag, value, false);
    else if (flag === '--runs') o.runs = positive(flag, value, true);
    else if (flag === '--target') o.targets = list(flag, value, ['ops', ...TARGETS] as const);
    else if (flag === '--backend') o.backends = list(flag, value, BACKENDS);
    else if (flag === '--op') o.ops = list(flag, value, OPS.map((x) => x.name));
    else if (flag === '--seed') o.seed = positive(flag, value, true);
    else if (flag === '--out') o.out = value;
    else fail(`unknown option ${flag}`);
  }
  if (o.seconds !== null && o.runs !== null) fail('give --seconds or --runs, not both');
  if (o.seconds === null && o.runs === null) o.runs = 100;
  return o;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const log = (l: string) => process.stdout.write(`${l}\n`);
  log(`fuzz: seed ${o.seed}, ${o.seconds !== null ? `${o.seconds} s` : `${o.runs} runs each`}, targets ${o.targets.join(',')}`);
  let passed = 0;
  let failed = 0;
  const parsers = o.targets.filter((t): t is TargetName => t !== 'ops');
  const share = o.seconds !== null && o.targets.includes('ops') && parsers.length ? o.seconds / 2 : o.seconds;

  if (o.targets.includes('ops')) {
    const ops = OPS.filter((op) => !o.ops || o.ops.includes(op.name));
    const targets = [];
    for (const b of o.backends) {
      const t = await prepare(b);
      if (t.device) targets.push(t);
      log(t.device ? `${b}: ${t.implementation}` : `SKIP ${b}: ${t.reason}`);
    }
    const each = share !== null ? (share * 1000) / Math.max(1, targets.length * ops.length) : undefined;
    for (const t of targets) {
      for (const op of ops) {
        const r = await checkOp(op, t.device!, TOLERANCE[t.backend], { runs: o.runs ?? undefined, timeLimitMs: each, seed: o.seed, values: { specials: SPECIALS[t.backend] } });
        if (r.failure) {
          failed++;
          log(`FAIL [${t.backend}] ${op.name} after ${r.runs} cases: ${r.failure}`);
        } else {
          passed++;
          log(`ok   [${t.backend}] ${op.name}: ${r.runs} cases (${r.refused} refused by both)`);
        }
      }
    }
  }

  for (const p of parsers) {
    const r = await fuzzParser(p, { seed: o.seed, runs: o.runs ?? undefined, seconds: share !== null ? share / parsers.length : undefined, findingsDir: o.out, log });
    const known = r.known ? `, ${r.known} known finding${r.known > 1 ? 's' : ''} (${r.knownExamples[0]})` : '';
    const line = `${r.inputs} inputs (${r.parsed} parsed, ${r.refused} refused${known}) in ${r.seconds.toFixed(1)} s, slowest ${r.maxInputMs.toFixed(0)} ms, RSS ${r.startRssMiB.toFixed(0)} → peak ${r.peakRssMiB.toFixed(0)} MiB`;
    if (r.findings.length) {
      failed++;
      log(`FAIL [parser] ${p}: ${r.findings.length} findings in ${line}`);
      for (const f of r.findings) log(`  input ${f.input}: ${f.what}: ${f.detail}${f.file ? ` (bytes: ${f.file})` : ''}`);
    } else {
      passed++;
      log(`ok   [parser] ${p}: ${line}`);
    }
  }
  log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
