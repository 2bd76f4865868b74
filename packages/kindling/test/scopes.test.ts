/**
 * tidy / noGrad / enableGrad with async functions: each scope follows its own async context only.
 * Unrelated code that runs while a scope awaits (timers here), and a second interleaved scope,
 * keep their tensors and their grad mode.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';

const tick = (ms = 5) => new Promise<void>((r) => setTimeout(r, ms));

describe('async scopes', () => {
  it('two interleaved async tidies dispose only their own tensors', async () => {
    const order: string[] = [];
    let aInner!: kd.Tensor;
    let bInner!: kd.Tensor;
    const a = kd.tidy(async () => {
      aInner = kd.ones([2]);
      order.push('a1');
      await tick(10);
      const r = aInner.mul(2);
      order.push('a2');
      return r;
    });
    const b = kd.tidy(async () => {
      bInner = kd.ones([3]);
      order.push('b1');
      await tick(2);
      order.push('b2');
      const r = bInner.add(1);
      await tick(20); // still open when a ends
      order.push('b3');
      return r;
    });
    const ra = await a;
    // b is still running: a's end must not touch b's tensors.
    expect(bInner.isDisposed).toBe(false);
    expect(aInner.isDisposed).toBe(true);
    expect(await ra.array()).toEqual([2, 2]);
    const rb = await b;
    expect(bInner.isDisposed).toBe(true);
    expect(await rb.array()).toEqual([2, 2, 2]);
    expect(order).toEqual(['a1', 'b1', 'b2', 'a2', 'b3']);
    ra.dispose();
    rb.dispose();
  });

  it('code that runs while an async tidy awaits keeps its tensors', async () => {
    let outside: kd.Tensor | null = null;
    const timer = setTimeout(() => {
      outside = kd.full([4], 7);
    }, 2);
    const r = await kd.tidy(async () => {
      const t = kd.zeros([4]);
      await tick(15);
      return t.add(1);
    });
    clearTimeout(timer);
    expect(outside).not.toBeNull();
    expect(outside!.isDisposed).toBe(false);
    expect(await outside!.array()).toEqual([7, 7, 7, 7]);
    expect(await r.array()).toEqual([1, 1, 1, 1]);
    outside!.dispose();
    r.dispose();
  });

  it('a sync tidy inside an async one hands its result to the async scope, which frees it unless returned', async () => {
    let inner!: kd.Tensor;
    let kept!: kd.Tensor;
    const r = await kd.tidy(async () => {
      await tick(1);
      inner = kd.tidy(() => kd.ones([2]).mul(3));
      kept = kd.keep(kd.ones([1]));
      await tick(1);
      return inner.add(1);
    });
    expect(inner.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(await r.array()).toEqual([4, 4]);
    r.dispose();
    kept.dispose();
  });

  it('an async tidy started inside a sync tidy disposes its own tensors, and its result outlives the sync scope', async () => {
    let innerTmp!: kd.Tensor;
    const p = kd.tidy(() =>
      kd.tidy(async () => {
        innerTmp = kd.ones([2]);
        await tick(1);
        return innerTmp.mul(5);
      }),
    );
    const r = await p;
    expect(innerTmp.isDisposed).toBe(true);
    expect(r.isDisposed).toBe(false);
    expect(await r.array()).toEqual([5, 5]);
    r.dispose();
  });

  it('a failing async tidy disposes its tensors and rethrows', async () => {
    let t!: kd.Tensor;
    await expect(
      kd.tidy(async () => {
        t = kd.ones([2]);
        await tick(1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(t.isDisposed).toBe(true);
  });

  it('noGrad(async) turns recording off for its own continuations only', async () => {
    const w = kd.keep(kd.ones([3], { requiresGrad: true }));
    let outsideRecorded: boolean | null = null;
    const timer = setTimeout(() => {
      const y = w.mul(2);
      outsideRecorded = y.requiresGrad;
      y.dispose();
    }, 2);
    const inside = await kd.noGrad(async () => {
      await tick(15);
      const y = w.mul(2);
      const r = [kd.isGradEnabled(), y.requiresGrad];
      y.dispose();
      return r;
    });
    clearTimeout(timer);
    expect(inside).toEqual([false, false]);
    expect(outsideRecorded).toBe(true);
    expect(kd.isGradEnabled()).toBe(true);
    w.dispose();
  });

  it('interleaved noGrad and enableGrad scopes each keep their own mode', async () => {
    const seen: string[] = [];
    await Promise.all([
      kd.noGrad(async () => {
        for (let i = 0; i < 3; i++) {
          await tick(1);
          seen.push(`no:${kd.isGradEnabled()}`);
        }
        await kd.enableGrad(async () => {
          await tick(1);
          seen.push(`no>enable:${kd.isGradEnabled()}`);
        });
        seen.push(`no:${kd.isGradEnabled()}`);
      }),
      kd.enableGrad(async () => {
        for (let i = 0; i < 3; i++) {
          await tick(1);
          seen.push(`enable:${kd.isGradEnabled()}`);
        }
      }),
      (async () => {
        for (let i = 0; i < 3; i++) {
          await tick(1);
          seen.push(`plain:${kd.isGradEnabled()}`);
        }
      })(),
    ]);
    expect(seen.filter((s) => s.startsWith('no:'))).toEqual(['no:false', 'no:false', 'no:false', 'no:false']);
    expect(seen).toContain('no>enable:true');
    expect(seen.filter((s) => s.startsWith('enable:'))).toEqual(['enable:true', 'enable:true', 'enable:true']);
    expect(seen.filter((s) => s.startsWith('plain:'))).toEqual(['plain:true', 'plain:true', 'plain:true']);
  });

  it('sync noGrad still nests and restores', () => {
    expect(kd.noGrad(() => [kd.isGradEnabled(), kd.enableGrad(() => kd.isGradEnabled()), kd.isGradEnabled()])).toEqual([false, true, false]);
    expect(kd.isGradEnabled()).toBe(true);
  });

  it('without AsyncLocalStorage (a browser) an async scope is refused with a clear error; sync scopes work', () => {
    const core = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
    // process.getBuiltinModule is how core finds AsyncLocalStorage; a browser has no such thing.
    const script = `
      delete process.getBuiltinModule;
      const kd = await import(${JSON.stringify(core)});
      const out = { supported: kd.asyncScopesSupported };
      out.sync = kd.tidy(() => 1 + 1);
      for (const [name, fn] of [['tidy', kd.tidy], ['noGrad', kd.noGrad]]) {
        try { await fn(async () => 1); out[name] = 'ran'; } catch (e) { out[name] = e.message; }
      }
      console.log(JSON.stringify(out));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 }));
    expect(out.supported).toBe(false);
    expect(out.sync).toBe(2);
    expect(out.tidy).toMatch(/^tidy: an async function needs AsyncLocalStorage/);
    expect(out.noGrad).toMatch(/^noGrad: an async function needs AsyncLocalStorage/);
  });
});
