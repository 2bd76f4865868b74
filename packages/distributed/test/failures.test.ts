import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, freePort, startNode, startRanks } from './helpers.js';

const RUN = join(FIXTURES, '..', '..', 'dist', 'run.js');

describe('failures end with a clear error, never a hang', () => {
  it('a rank killed mid-training: the other stops with an error naming the collective, well within the timeout', async () => {
    const ranks = await startRanks('ddp.mjs', 2, { STEPS: '100', SLOW_MS: '100', TIMEOUT_MS: '60000' }, 60_000);
    await ranks[1]!.waitFor('step 2');
    ranks[1]!.child.kill('SIGKILL');
    const [survivor, killed] = await Promise.all(ranks.map((r) => r.exit));
    expect(killed!.signal).toBe('SIGKILL');
    expect(survivor!.code).not.toBe(0);
    expect(survivor!.stderr).toMatch(/DistributedError: (allReduce|broadcast): rank 0 of 2: .*\(a peer exited, or the timeout of 60000 ms passed\)/);
    expect(survivor!.ms).toBeLessThan(45_000);
  });

  it('a port in use is named with the option to change', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port);
    try {
      const p = startNode(join(FIXTURES, 'init.mjs'), { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: '0', WORLD_SIZE: '2' });
      const e = await p.exit;
      expect(e.code).not.toBe(0);
      expect(e.stderr).toContain(`initProcessGroup: the rendezvous store's port 127.0.0.1:${port} is in use (EADDRINUSE): pick another MASTER_PORT / --master-port`);
    } finally {
      blocker.close();
    }
  });

  it('a mismatched world size is reported by both ranks', async () => {
    const port = String(await freePort());
    const env = { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, TIMEOUT_MS: '15000' };
    const r0 = startNode(join(FIXTURES, 'init.mjs'), { ...env, RANK: '0', WORLD_SIZE: '2' });
    const r1 = startNode(join(FIXTURES, 'init.mjs'), { ...env, RANK: '1', WORLD_SIZE: '3' });
    const [e0, e1] = await Promise.all([r0.exit, r1.exit]);
    expect(e0.code).not.toBe(0);
    expect(e1.code).not.toBe(0);
    expect(e1.stderr).toMatch(/mismatched world size: rank 1 has WORLD_SIZE=3 but rank 0 \(pid \d+ on .*\) has WORLD_SIZE=2/);
    expect(e0.stderr).toMatch(/mismatched world size: rank 0 has WORLD_SIZE=2 but rank 1 \(pid \d+ on .*\) has WORLD_SIZE=3/);
    expect(Math.max(e0.ms, e1.ms)).toBeLessThan(14_000);
  });

  it('a rank that never comes: the others name it once the timeout passes', async () => {
    const [r0] = await startRanks('init.mjs', 2, { TIMEOUT_MS: '1500' }).then((ps) => {
      ps[1]!.child.kill('SIGKILL');
      return ps;
    });
    const e = await r0!.exit;
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain('initProcessGroup: rank 0: ranks 1 did not join within 1500 ms (WORLD_SIZE=2)');
  });

  it("NCCL: the addon loads and reports 'nccl unavailable: <reason>'; asking for it says so", async () => {
    const { ncclStatus } = await import('@kindling/distributed');
    const s = ncclStatus();
    if (s.available) return; // a host with NCCL: the device check covers it
    expect(s.reason).toMatch(/libnccl\.so\.2/);
    const port = String(await freePort());
    const e = await startNode(join(FIXTURES, 'init.mjs'), { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, RANK: '0', WORLD_SIZE: '1', BACKEND: 'nccl' }).exit;
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain('initProcessGroup: nccl unavailable: libnccl.so.2');
  });

  it('missing torchrun variables and bad values name the variable', async () => {
    const e = await startNode(join(FIXTURES, 'init.mjs'), { MASTER_ADDR: '', MASTER_PORT: '', RANK: '', WORLD_SIZE: '' }).exit;
    expect(e.stderr).toContain('initProcessGroup: environment variable MASTER_ADDR is not set');
    const f = await startNode(join(FIXTURES, 'init.mjs'), { MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29999', RANK: '2', WORLD_SIZE: '2' }).exit;
    expect(f.stderr).toContain('initProcessGroup: rank 2 is not below the world size 2');
  });
});

describe('kindling-run', () => {
  it("starts the ranks with torchrun's variables; the run succeeds when they do", async () => {
    const port = String(await freePort());
    const e = await startNode(RUN, {}, 60_000, ['--nproc-per-node', '3', '--master-port', port, join(FIXTURES, 'collectives.mjs')]).exit;
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    for (const r of [0, 1, 2]) expect(e.stdout).toContain(`[rank ${r}] {"rank":${r},"worldSize":3,`);
  });

  it("one rank fails: the others are stopped and the failing rank's error is shown", async () => {
    const port = String(await freePort());
    const e = await startNode(RUN, {}, 60_000, ['--nproc_per_node=2', `--master-port=${port}`, join(FIXTURES, 'fail.mjs')]).exit;
    expect(e.code).toBe(1);
    expect(e.stdout).toContain('[rank 0] rank 0 of 2 (local 0) ready');
    expect(e.stderr).toMatch(/kindling-run: rank 1 \(pid \d+\) exited with code 1; the other ranks were stopped\./);
    expect(e.stderr).toContain("kindling-run: the last lines of rank 1's stderr:");
    expect(e.stderr).toContain('Error: boom from rank 1');
    expect(e.ms).toBeLessThan(30_000);
  });

  it('bad flags are named', async () => {
    const e = await startNode(RUN, {}, 10_000, ['--nproc-per-node', 'two', 'x.js']).exit;
    expect(e.code).toBe(2);
    expect(e.stderr).toContain("kindling-run: --nproc-per-node must be an integer ≥ 1, got 'two'");
  });
});
