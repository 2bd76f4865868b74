/**
 * A contender's process: `node dist/worker.js <contender>` (kindling:<device> or
 * tfjs:<cpu|wasm|webgpu>) answering the line protocol of protocol.ts on stdin/stdout.
 * `node dist/worker.js probe:webgpu` prints one JSON line saying whether a WebGPU adapter answers
 * in a fresh process (and which), then exits.
 */
import { createInterface } from 'node:readline';
import type { Reply, Request } from './protocol.js';
import type { Session } from './session.js';

const contender = process.argv[2] ?? '';
let session: Session | null = null;

function send(r: Reply): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function setup(req: Extract<Request, { cmd: 'setup' }>): Promise<Session> {
  const [kind, name] = contender.split(/:(.*)/s) as [string, string];
  if (kind === 'kindling') {
    const { kindlingSession } = await import('./kindling.js');
    return kindlingSession(name, req.workload, req.batch, req.dataDir ?? null);
  }
  if (kind === 'tfjs' && (name === 'cpu' || name === 'wasm' || name === 'webgpu')) {
    const { tfjsSession } = await import('./tfjs.js');
    return tfjsSession(name, req.workload, req.batch, req.dataDir ?? null);
  }
  throw new Error(`unknown contender '${contender}'`);
}

async function handle(req: Request): Promise<boolean> {
  try {
    if (req.cmd === 'exit') return false;
    if (req.cmd === 'setup') {
      session = await setup(req);
      send({ ok: true, info: session.info, ...(session.adapter ? { adapter: session.adapter } : {}) });
    } else {
      if (!session) throw new Error('run before setup');
      const times: number[] = [];
      const extra: Record<string, number> = {};
      const start = performance.now();
      do {
        const t0 = performance.now();
        const e = await session.step();
        times.push((performance.now() - t0) / 1000);
        if (e) Object.assign(extra, e);
        if (req.stepBudget !== undefined && times[times.length - 1]! > req.stepBudget) break;
      } while (times.length < req.maxSteps && (performance.now() - start) / 1000 < req.minSeconds);
      send({ ok: true, times, maxRss: maxRss(), extra });
    }
  } catch (e) {
    const err = e as Error;
    send({ ok: false, error: (err.message || String(err)).split('\n')[0]! });
  }
  return true;
}

if (contender === 'probe:webgpu') {
  const { installNavigatorGpu } = await import('./dawn.js');
  try {
    const { adapter } = await installNavigatorGpu();
    process.stdout.write(`${JSON.stringify({ ok: true, adapter })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message.split('\n')[0] })}\n`);
  }
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  if (!(await handle(JSON.parse(line) as Request))) break;
}
(session as Session | null)?.dispose();
process.exit(0);
