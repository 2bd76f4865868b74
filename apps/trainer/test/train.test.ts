import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DATA = '/usr/share/datasets/fashion-mnist';
const hasData = existsSync(join(DATA, 'train-images-idx3-ubyte.gz'));
if (!hasData) console.warn(`[trainer] real-data tests skipped: ${DATA} is missing (apt-get install dataset-fashion-mnist)`);

const run = (args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { epoch, loss, trainAcc, testAcc } = JSON.parse(l);
    return { epoch, loss, trainAcc, testAcc };
  });

describe('pnpm train', () => {
  it('prints the usage on --help and a clear message on bad options', () => {
    expect(run(['--help'])).toContain('usage: pnpm train --model NAME');
    let err: { status: number; stderr: string } | null = null;
    try {
      run(['--model', 'lenet', '--epochs', '0']);
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(2);
    expect(err?.stderr).toContain("train: --epochs must be an integer >= 1, got '0'");
    expect(err?.stderr).toContain('usage: pnpm train');
  });

  it.skipIf(!hasData)("d2l.ai's LeNet-BN, one epoch on the real Fashion-MNIST: d2l's line, test accuracy >= 0.70, and the artefacts", () => {
    const out = mkdtempSync(join(tmpdir(), 'kd-train-'));
    const log = run(['--model', 'lenet-bn-d2l', '--epochs', '1', '--out', out, '--quiet']);
    const line = /^epoch 1, loss (\d\.\d{3}), train acc (\d\.\d{3}), test acc (\d\.\d{3}), \d+\.\d s$/m.exec(log);
    expect(line, log).not.toBeNull();
    expect(Number(line![3])).toBeGreaterThanOrEqual(0.7);
    expect(log).toMatch(/60000 training \/ 10000 test images/);
    const [m] = metrics(out);
    expect(m!.testAcc).toBeGreaterThanOrEqual(0.7);
    expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toMatch(/^<svg[\s\S]*test acc[\s\S]*<\/svg>$/);
    expect(readFileSync(join(out, 'summary.txt'), 'utf8')).toContain('Total params: 44,878');
    expect(existsSync(join(out, 'checkpoints', 'epoch-0001.safetensors'))).toBe(true);
  });

  it.skipIf(!hasData)('a run killed mid-training resumes (weights, optimizer, scheduler, RNG, epoch) to the same numbers as an uninterrupted run', async () => {
    const args = ['--model', 'lenet-bn-d2l', '--epochs', '4', '--subset', '3072', '--test-subset', '1000', '--seed', '5', '--scheduler', 'onecycle', '--quiet'];
    const straight = mkdtempSync(join(tmpdir(), 'kd-straight-'));
    run([...args, '--out', straight]);

    const killed = mkdtempSync(join(tmpdir(), 'kd-killed-'));
    const child = spawn(process.execPath, [cli, ...args, '--out', killed], { stdio: 'ignore' });
    const first = join(killed, 'checkpoints', 'epoch-0001.safetensors');
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (existsSync(first)) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(t);
        reject(new Error('the run ended before it could be interrupted'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(join(killed, 'checkpoints', 'epoch-0004.safetensors'))).toBe(false);

    const log = run([...args, '--out', killed, '--resume']);
    expect(log).toMatch(/^resuming from .*epoch-000[123]\.safetensors/m);
    expect(metrics(killed)).toEqual(metrics(straight));
    expect(metrics(killed).map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
  });

  it.skipIf(!hasData)('refuses to resume without a checkpoint, with other options, or from a damaged file', () => {
    const out = mkdtempSync(join(tmpdir(), 'kd-resume-'));
    const base = ['--model', 'lenet', '--epochs', '1', '--subset', '512', '--test-subset', '256', '--out', out, '--quiet'];
    expect(() => run([...base, '--resume'])).toThrow(/--resume: no checkpoint in .*checkpoints; run without --resume first/);
    run(base);
    expect(() => run([...base, '--epochs', '2', '--resume', '--batch-size', '64'])).toThrow(/checkpoint was trained with batchSize=256, this run has 64/);
    const file = join(out, 'checkpoints', 'epoch-0001.safetensors');
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    expect(() => run([...base, '--epochs', '2', '--resume'])).toThrow(/epoch-0001\.safetensors/);
  });
});
