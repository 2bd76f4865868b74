/**
 * Regression tests for the trainer's findings of issue 14's adversarial review: prototype
 * pollution through a checkpoint (3), unvalidated checkpoint metadata (6), checkpoint order (7),
 * a broken pipe (8), empty datasets (5) and orphan temporary files (12). The checkpoint cases run
 * in-process on both CPU paths (the 'cpu' device, native when the addon is built, and a portable
 * CpuBackend); the CLI cases run the built CLI with KINDLING_CPU_NATIVE=1 and =0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { cpuPaths as paths } from '../../../packages/kindling/test/cpu-paths.js';
import { latestCheckpoint, loadCheckpoint, removeStaleTemps, saveCheckpoint } from '../src/checkpoint.js';
import { buildModel } from '../src/models.js';
import { parseOptions, type TrainOptions } from '../src/options.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DATA = '/usr/share/datasets/fashion-mnist';
const hasData = existsSync(join(DATA, 'train-images-idx3-ubyte.gz'));

const tempDir = (tag: string) => mkdtempSync(join(tmpdir(), `kd-${tag}-`));

/** A model, an SGD with momentum state after one step, and the options a run would have. */
function setup(device: string, out: string) {
  kd.setDefaultDevice(device);
  const o = parseOptions(['--model', 'lenet', '--out', out]) as TrainOptions;
  const model = buildModel('lenet');
  const optimizer = new kd.optim.SGD(model.parameters(), { lr: 0.9, momentum: 0.9 });
  for (const p of model.parameters()) p.grad = kd.onesLike(p);
  optimizer.step();
  optimizer.zeroGrad();
  return { o, model, optimizer };
}

/** A copy of the checkpoint at `from` with some metadata values replaced. */
async function tampered(from: string, to: string, edits: Record<string, string>): Promise<string> {
  const bytes = new Uint8Array(readFileSync(from));
  const meta = { ...kd.nn.safetensors.readMetadata(bytes)!, ...edits };
  await kd.nn.safetensors.save(kd.nn.safetensors.deserialize(bytes), to, { metadata: meta });
  return to;
}

for (const path of paths) {
  describe.skipIf(!!path.skip)(`trainer checkpoints on the ${path.name} cpu path${path.skip ? ` (skipped: ${path.skip})` : ''}`, () => {
    it('3, 6: a checkpoint is checked before it is used; __proto__ keys are refused and pollute nothing', async () => {
      const out = tempDir('ckpt');
      const { o, model, optimizer } = setup(path.device, out);
      const good = await saveCheckpoint(out, 0, model, optimizer, null, { history: [{ epoch: 1, loss: 1 }], rng: { seed: 0, counter: 8 }, options: o });
      const fresh = () => setup(path.device, out);

      const f = fresh();
      const state = await loadCheckpoint(good, f.model, f.optimizer, null, o);
      expect(state.epoch).toBe(0);
      expect(state.history).toHaveLength(1);
      expect(f.optimizer.paramGroups[0]!.lr).toBe(0.9);

      const meta = kd.nn.safetensors.readMetadata(new Uint8Array(readFileSync(good)))!;
      const opt = JSON.parse(meta.optimizer!) as { paramGroups: Record<string, unknown>[]; numbers: unknown };
      const cases: [string, Record<string, string>, string][] = [
        ['pollution', { optimizer: JSON.stringify({ ...opt, numbers: JSON.parse('{"__proto__": {"polluted": 1}}') }) }, 'metadata optimizer numbers: "__proto__" is not a parameter index'],
        ['lr', { optimizer: JSON.stringify({ ...opt, paramGroups: [{ ...opt.paramGroups[0], lr: 'abc' }] }) }, 'loadStateDict: param group 0: SGD: Invalid learning rate: "abc" (a string)'],
        ['epoch', { epoch: 'abc' }, 'metadata epoch "abc" is not an epoch number'],
        ['history', { history: '{}' }, 'metadata history is not an array of epoch records'],
        ['history length', { history: '[]' }, 'metadata history has 0 epoch records, epoch 0 needs 1'],
        ['rng', { rng: '{"seed": "0"}' }, 'metadata rng {"seed":"0"} is not a generator state'],
        ['json', { scheduler: '{' }, 'metadata scheduler is not valid JSON'],
      ];
      for (const [name, edits, message] of cases) {
        const file = await tampered(good, join(out, `bad-${name.replace(' ', '-')}.safetensors`), edits);
        const g = fresh();
        const err = await loadCheckpoint(file, g.model, g.optimizer, null, o).catch((e: Error) => e);
        expect(err, name).toBeInstanceOf(Error);
        expect((err as Error).message, name).toContain(`${file}: `);
        expect((err as Error).message, name).toContain(message);
        expect(g.optimizer.paramGroups[0]!.lr, name).toBe(0.9);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
}

describe('trainer checkpoint files', () => {
  it('7: latestCheckpoint orders epochs by number (epoch-10000 after epoch-9999)', () => {
    const out = tempDir('order');
    mkdirSync(join(out, 'checkpoints'));
    for (const f of ['epoch-0002.safetensors', 'epoch-9999.safetensors', 'epoch-10000.safetensors', 'epoch-0100.safetensors']) {
      writeFileSync(join(out, 'checkpoints', f), '');
    }
    expect(latestCheckpoint(out)).toBe(join(out, 'checkpoints', 'epoch-10000.safetensors'));
  });

  it('12: temporary files of unfinished checkpoint writes are removed, those of a running process kept', () => {
    const out = tempDir('tmp');
    const dir = join(out, 'checkpoints');
    mkdirSync(dir);
    // pid 2^22 + 1 is above Linux's pid_max limit, so no process has it.
    const dead = `.epoch-0003.safetensors.${2 ** 22 + 1}.m1abc2def.tmp`;
    const live = `.epoch-0003.safetensors.${process.ppid}.m1abc2xyz.tmp`;
    for (const f of [dead, live, 'epoch-0002.safetensors', 'notes.tmp']) writeFileSync(join(dir, f), 'x');
    expect(removeStaleTemps(out)).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual([live, 'epoch-0002.safetensors', 'notes.tmp'].sort());
  });
});

for (const path of paths) {
  describe.skipIf(!!path.skip)(`pnpm train on the ${path.name} cpu path${path.skip ? ` (skipped: ${path.skip})` : ''}`, () => {
    const env = { ...process.env, KINDLING_CPU_NATIVE: path.env };

    it('5: a dataset of 0 images is an error naming the file, exit 1', () => {
      const data = tempDir('empty');
      for (const split of ['train', 't10k']) {
        writeFileSync(join(data, `${split}-images-idx3-ubyte`), kd.data.encodeIdx([0, 28, 28], new Uint8Array(0)));
        writeFileSync(join(data, `${split}-labels-idx1-ubyte`), kd.data.encodeIdx([0], new Uint8Array(0)));
      }
      const r = spawnSync(process.execPath, [cli, '--model', 'lenet', '--data-dir', data, '--out', tempDir('empty-out'), '--quiet'], { env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^train: .*-images-idx3-ubyte: holds 0 images; a dataset needs at least one\n$/);
    });

    it.skipIf(!hasData)('8, 12: a closed pipe stops the run quietly (exit 141); the next run removes what a cut write left', async () => {
      const out = tempDir('epipe');
      const args = [cli, '--model', 'lenet', '--subset', '1024', '--test-subset', '256', '--epochs', '1', '--log-every', '1', '--out', out, '--quiet'];
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      // Read one chunk, then close the pipe as `| head -1` does.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code, stderr).toBe(141);
      expect(stderr).toBe('');
      // A stale temporary file (a write cut by a kill) goes on the next run.
      mkdirSync(join(out, 'checkpoints'), { recursive: true });
      const stale = join(out, 'checkpoints', `.epoch-0001.safetensors.${2 ** 22 + 1}.m1abc2def.tmp`);
      writeFileSync(stale, 'partial');
      const r = spawnSync(process.execPath, [cli, '--model', 'lenet', '--subset', '256', '--test-subset', '256', '--epochs', '1', '--out', out, '--quiet'], { env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`removed .epoch-0001.safetensors.${2 ** 22 + 1}.m1abc2def.tmp`);
      expect(existsSync(stale)).toBe(false);
    });
  });
}
