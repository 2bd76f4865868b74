import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ANCHORS, WORKLOADS, fmtBytes, fmtRate, formatTable, median, parseOptions, quickened, runBench, selectWorkloads, summarise, type Result,
} from '../src/index.js';

describe('bench options', () => {
  it('defaults to everything against the cpu anchors', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({ model: 'all', mode: 'all', backends: ['cpu'], against: [...DEFAULT_ANCHORS], json: null, quick: false });
    expect(o.against).toEqual(['tfjs-cpu', 'tfjs-wasm', 'pytorch']);
  });

  it('parses every flag, with = or a separate value', () => {
    const o = parseOptions(['--model', 'lenet', '--mode=infer', '--backend', 'cpu,cpu-portable', '--against', 'pytorch', '--json', 'out.json', '--quick']);
    expect(o).toMatchObject({ model: 'lenet', mode: 'infer', backends: ['cpu', 'cpu-portable'], against: ['pytorch'], json: 'out.json', quick: true });
    expect(parseOptions(['--against', 'none']).against).toEqual([]);
  });

  it('rejects unknown values with a message naming the flag', () => {
    expect(() => parseOptions(['--model', 'vgg'])).toThrow(/--model/);
    expect(() => parseOptions(['--against', 'jax'])).toThrow(/unknown anchor 'jax'/);
    expect(() => parseOptions(['--frobnicate'])).toThrow(/unknown option/);
    expect(() => parseOptions(['--json'])).toThrow(/needs a value/);
  });
});

describe('workloads', () => {
  it('selects by model and mode; matmul and the epoch come with --model all --mode all', () => {
    expect(selectWorkloads('all', 'all')).toEqual(['lenet-train', 'user-loop', 'lenet-infer', 'alexnet-train', 'matmul', 'epoch']);
    expect(selectWorkloads('lenet', 'train')).toEqual(['lenet-train', 'user-loop']);
    expect(selectWorkloads('alexnet', 'infer')).toEqual([]);
    expect(selectWorkloads('all', 'infer')).toEqual(['lenet-infer']);
    expect(selectWorkloads('matmul', 'all')).toEqual(['matmul']);
    expect(selectWorkloads('matmul', 'train')).toEqual(['matmul']);
  });

  it('uses the issue\'s batch sizes', () => {
    expect(WORKLOADS['lenet-train'].batch).toBe(256);
    expect(WORKLOADS['lenet-infer'].batch).toBe(1000);
    expect(WORKLOADS['alexnet-train'].batch).toBe(32);
    expect(WORKLOADS.matmul.itemsPerStep).toBeCloseTo(2 * 2048 ** 3 / 1e9);
    expect(quickened(WORKLOADS['lenet-train']).rounds).toBeLessThanOrEqual(WORKLOADS['lenet-train'].rounds);
  });
});

describe('statistics and formatting', () => {
  it('summarises per-step throughput', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const s = summarise([0.5, 1, 0.25], 100);
    expect(s).toEqual({ median: 200, min: 100, max: 400, n: 3 });
    expect(fmtRate(24500.4)).toBe('24,500');
    expect(fmtRate(30.44)).toBe('30.4');
    expect(fmtBytes(300 * 2 ** 20)).toBe('300 MiB');
  });

  it('prints ratios to every anchor that ran and the reason for those that did not', () => {
    const base = { workload: 'lenet-train' as const, unit: 'img/s', times: [1], status: 'ok' as const };
    const results: Result[] = [
      { ...base, contender: 'kindling:cpu', label: 'Kindling cpu', isKindling: true, summary: { median: 300, min: 250, max: 320, n: 3 }, maxRss: 2 ** 27 },
      { ...base, contender: 'pytorch', label: 'PyTorch', isKindling: false, summary: { median: 200, min: 190, max: 210, n: 3 }, maxRss: 2 ** 28 },
      { ...base, contender: 'tfjs:wasm', label: 'TF.js wasm', isKindling: false, status: 'skipped', reason: "failed: Kernel 'X' not registered", times: [] },
    ];
    const t = formatTable(results);
    expect(t).toContain('× PyTorch');
    expect(t).toContain('1.50×');
    expect(t).toContain("failed: Kernel 'X' not registered");
  });
});

describe('a real (tiny) run', () => {
  it('measures Kindling in its own process and skips an unavailable PyTorch with the reason', async () => {
    const lines: string[] = [];
    const results = await runBench({
      workloads: ['lenet-infer'],
      contenders: [{ id: 'kindling:cpu', label: 'Kindling cpu', isKindling: true }, { id: 'pytorch', label: 'PyTorch', isKindling: false }],
      quick: true, python: null, torchReason: 'test: not looked up', dataDir: null, log: (l) => lines.push(l),
    });
    const k = results.find((r) => r.contender === 'kindling:cpu')!;
    expect(k.status, k.reason).toBe('ok');
    expect(k.times.length).toBeGreaterThan(0);
    expect(k.summary!.median).toBeGreaterThan(0);
    expect(k.maxRss).toBeGreaterThan(0);
    expect(k.info).toMatch(/native|typescript/);
    const t = results.find((r) => r.contender === 'pytorch')!;
    expect(t.status).toBe('skipped');
    expect(t.reason).toContain('test: not looked up');
  });
});
