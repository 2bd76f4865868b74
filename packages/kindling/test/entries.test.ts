import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));
const node = (args: string[], cwd: string): string =>
  execFileSync(process.execPath, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('kindling entry points', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kindling-entries-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // A flat node_modules, as npm installs it, with kindling and its packages (package.json and
  // dist: what npm users get) but no @kindling/backend-webgpu, and a @kindling/backend-cuda
  // that throws on import.
  const nm = join(scratch, 'node_modules');
  const copy = (from: string, to: string): void => {
    for (const f of ['package.json', 'dist']) cpSync(join(packages, from, f), join(to, f), { recursive: true });
  };
  copy('kindling', join(nm, 'kindling'));
  for (const p of ['core', 'autograd', 'backend-cpu', 'nn', 'optim', 'data', 'metrics']) copy(p, join(nm, '@kindling', p));
  mkdirSync(join(nm, '@kindling', 'backend-cuda'), { recursive: true });
  writeFileSync(
    join(nm, '@kindling', 'backend-cuda', 'package.json'),
    JSON.stringify({ name: '@kindling/backend-cuda', type: 'module', exports: './index.js' }),
  );
  writeFileSync(join(nm, '@kindling', 'backend-cuda', 'index.js'), "throw new Error('addon exploded');\n");

  it("require('kindling') gives the same API as import", () => {
    const out = node(
      ['-e', "const kd = require('kindling'); console.log(typeof kd.tensor, typeof kd.nn.Linear, kd.ones([2]).shape.join())"],
      scratch,
    );
    expect(out.trim()).toBe('function function 2');
  });

  it('a missing optional backend is skipped and a broken one is an error that names it', () => {
    writeFileSync(
      join(scratch, 'check.mjs'),
      `import * as kd from 'kindling';
const status = await kd.optionalBackends();
const cuda = kd.availableDevices().find((d) => d.kind === 'cuda');
let initError = '';
try { await kd.initDevice('cuda'); } catch (e) { initError = e.message; }
console.log(JSON.stringify({ status, kinds: kd.availableDevices().map((d) => d.kind), cuda, initError }));
`,
    );
    const r = JSON.parse(node(['--no-warnings', 'check.mjs'], scratch)) as {
      status: { kind: string; state: string; error: string | null }[];
      kinds: string[];
      cuda: { available: boolean; reason: string };
      initError: string;
    };
    expect(r.status.map((s) => [s.kind, s.state])).toEqual([['webgpu', 'not installed'], ['cuda', 'failed']]);
    expect(r.kinds).toEqual(['cpu', 'cuda']);
    const said = '@kindling/backend-cuda is installed but failed to load: addon exploded';
    expect(r.cuda).toEqual({ kind: 'cuda', available: false, reason: said });
    expect(r.initError).toBe(said);
  });

  it('the webgpu and cuda entry points register their backend with static imports', () => {
    const out = node(
      ['-e', "import('kindling/webgpu').then(async (kd) => { await import('kindling/cuda'); console.log(kd.availableDevices().map((d) => d.kind).join()) })"],
      packages + 'kindling',
    );
    expect(out.trim().split(',').sort()).toEqual(['cpu', 'cuda', 'webgpu']);
  });
});
