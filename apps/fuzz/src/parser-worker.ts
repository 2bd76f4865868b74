/**
 * Runs one parser target over a range of inputs and reports to its parent over IPC: 'start i'
 * before each input (so a crash or hang is pinned to an input), the outcome and resident memory
 * after it, and a summary at the end. Started by fuzzParsers() (parsers.ts); not a public CLI.
 */
import { makeTarget, type TargetName } from './targets.js';

export interface WorkerArgs {
  target: TargetName;
  seed: number;
  from: number;
  /** Stop after this many inputs or at this time (ms since the epoch), whichever comes first. */
  count: number;
  deadline: number;
}

export type WorkerMessage =
  | { type: 'ready'; rss: number }
  | { type: 'start'; i: number }
  | { type: 'result'; i: number; kind: 'ok' | 'refused' | 'known' | 'finding'; detail?: string; ms: number; rss: number }
  | { type: 'done'; next: number };

const send = (m: WorkerMessage): Promise<void> => new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));

const args = JSON.parse(process.argv[2]!) as WorkerArgs;
const { target, cleanup } = await makeTarget(args.target);
await send({ type: 'ready', rss: process.memoryUsage.rss() });
let i = args.from;
try {
  for (; i < args.from + args.count && Date.now() < args.deadline; i++) {
    const bytes = target.input(args.seed, i);
    await send({ type: 'start', i });
    const t0 = performance.now();
    const r = await target.run(bytes);
    await send({ type: 'result', i, kind: r.kind, detail: r.detail, ms: performance.now() - t0, rss: process.memoryUsage.rss() });
  }
} finally {
  cleanup();
}
await send({ type: 'done', next: i });
process.disconnect();
