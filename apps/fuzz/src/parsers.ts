/**
 * The parser fuzzers' driver. Each target runs in a child process so that a crash (an abort, a
 * signal) or a hang is caught and pinned to one input instead of taking the fuzzer down: the
 * child says which input it starts, the parent kills it (by its PID) when one input takes longer
 * than `perInputMs`, records the input's bytes under `findingsDir`, and starts a fresh child at the
 * next input. Memory is the children's resident set, sampled after every input.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTarget, type TargetName } from './targets.js';
import type { WorkerArgs, WorkerMessage } from './parser-worker.js';

export interface ParserFuzzOptions {
  seed: number;
  /** Inputs to try (default: unbounded, then `seconds` must be set). */
  runs?: number;
  seconds?: number;
  /** An input that takes longer is a hang (default 10 s). */
  perInputMs?: number;
  /** V8 heap limit of the child (MiB); external buffers are counted by the RSS figures. */
  heapMiB?: number;
  /** Where the bytes of crashing or hanging inputs and of findings are written (default: not written). */
  findingsDir?: string;
  log?: (line: string) => void;
}

export interface Finding {
  input: number;
  what: 'crash' | 'hang' | 'finding';
  detail: string;
  file?: string;
}

export interface ParserFuzzReport {
  target: TargetName;
  seed: number;
  inputs: number;
  parsed: number;
  refused: number;
  /** Inputs that hit a known, not yet fixed finding (KNOWN_PARSER_FINDINGS), with one example each. */
  known: number;
  knownExamples: string[];
  findings: Finding[];
  /** Slowest input (ms) and the resident set: the child's at start, and its peak. */
  maxInputMs: number;
  startRssMiB: number;
  peakRssMiB: number;
  seconds: number;
}

// The built worker, whether this module runs from dist/ or (under vitest) from src/.
const worker = fileURLToPath(new URL('../dist/parser-worker.js', import.meta.url));

export async function fuzzParser(target: TargetName, o: ParserFuzzOptions): Promise<ParserFuzzReport> {
  if (o.runs === undefined && o.seconds === undefined) throw new Error('fuzz: give runs or seconds');
  const t0 = Date.now();
  const deadline = o.seconds === undefined ? Number.MAX_SAFE_INTEGER : t0 + o.seconds * 1000;
  const end = o.runs ?? Number.MAX_SAFE_INTEGER;
  const perInputMs = o.perInputMs ?? 10_000;
  const report: ParserFuzzReport = { target, seed: o.seed, inputs: 0, parsed: 0, refused: 0, known: 0, knownExamples: [], findings: [], maxInputMs: 0, startRssMiB: 0, peakRssMiB: 0, seconds: 0 };
  const save = async (i: number, what: string): Promise<string | undefined> => {
    if (!o.findingsDir) return undefined;
    mkdirSync(o.findingsDir, { recursive: true });
    const { target: t, cleanup } = await makeTarget(target);
    const file = join(o.findingsDir, `${target}-seed${o.seed}-input${i}-${what}.bin`);
    writeFileSync(file, t.input(o.seed, i));
    cleanup();
    return file;
  };
  let next = 0;
  while (next < end && Date.now() < deadline) {
    const args: WorkerArgs = { target, seed: o.seed, from: next, count: end - next, deadline };
    const child = fork(worker, [JSON.stringify(args)], { execArgv: [`--max-old-space-size=${o.heapMiB ?? 1024}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let current = -1;
    let startedAt = Date.now();
    let done = false;
    let hung = false;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        if (!report.startRssMiB) report.startRssMiB = m.rss / 2 ** 20;
      } else if (m.type === 'start') {
        current = m.i;
        startedAt = Date.now();
      } else if (m.type === 'result') {
        report.inputs++;
        if (m.kind === 'ok') report.parsed++;
        else if (m.kind === 'refused') report.refused++;
        else if (m.kind === 'known') {
          report.known++;
          if (report.knownExamples.length < 3) report.knownExamples.push(`input ${m.i}: ${m.detail}`);
        } else {
          report.findings.push({ input: m.i, what: 'finding', detail: m.detail ?? '' });
          o.log?.(`${target}: input ${m.i}: ${m.detail}`);
        }
        report.maxInputMs = Math.max(report.maxInputMs, m.ms);
        report.peakRssMiB = Math.max(report.peakRssMiB, m.rss / 2 ** 20);
        current = -1;
        next = m.i + 1;
      } else if (m.type === 'done') {
        done = true;
        next = m.next;
      }
    });
    const watchdog = setInterval(() => {
      if (current >= 0 && Date.now() - startedAt > perInputMs) {
        hung = true;
        child.kill('SIGKILL'); // our own child, by its handle (its PID)
      }
    }, 100);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    clearInterval(watchdog);
    if (done) break;
    if (current < 0) {
      // Died outside an input (while loading the seeds): nothing to pin it to; report and stop.
      report.findings.push({ input: next, what: 'crash', detail: `the worker exited (code ${exit.code}, signal ${exit.signal}) outside an input: ${stderr.trim()}` });
      break;
    }
    const what = hung ? 'hang' : 'crash';
    const detail = hung ? `no answer within ${perInputMs} ms` : `the process died (code ${exit.code}, signal ${exit.signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    report.inputs++;
    report.findings.push({ input: current, what, detail, file: await save(current, what) });
    o.log?.(`${target}: input ${current}: ${what}: ${detail}`);
    next = current + 1;
  }
  for (const f of report.findings) if (f.what === 'finding' && !f.file) f.file = await save(f.input, 'finding');
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}
