/**
 * The optional native build: without a usable nvcc the install still succeeds and records why no
 * addon was built (the 'cuda' device then quotes that reason); KINDLING_REQUIRE_CUDA=1 turns the
 * same situation into a failure. Runs the real script on a scratch copy of the package, so the
 * package's own build/ is untouched.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'kindling-cuda-build-'));
for (const f of ['package.json', 'CMakeLists.txt', 'scripts', 'native']) cpSync(join(pkg, f), join(scratch, f), { recursive: true });
// The shared build helper lies next to the script, as in a published package (prepack copies it).
cpSync(join(pkg, '..', '..', 'scripts', 'native-build.mjs'), join(scratch, 'scripts', 'native-build.mjs'));
symlinkSync(join(pkg, 'node_modules'), join(scratch, 'node_modules'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function build(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(scratch, 'scripts', 'build-native.mjs')], { env: { ...process.env, KINDLING_REQUIRE_CUDA: '', ...env }, encoding: 'utf8' });
  const status = JSON.parse(readFileSync(join(scratch, 'build', 'native-status.json'), 'utf8')) as { built: boolean; reason?: string };
  return { code: r.status, out: `${r.stdout}${r.stderr}`, status };
}

describe('cuda: the optional native build', () => {
  it('succeeds without nvcc and records the reason', () => {
    const r = build({ CUDACXX: '/nonexistent/nvcc' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CUDA addon not built: CUDACXX=\/nonexistent\/nvcc does not run/);
    expect(r.status).toMatchObject({ built: false, reason: 'CUDACXX=/nonexistent/nvcc does not run' });
  });

  it('fails when KINDLING_REQUIRE_CUDA=1 says a GPU host must have the addon', () => {
    const r = build({ CUDACXX: '/nonexistent/nvcc', KINDLING_REQUIRE_CUDA: '1' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/KINDLING_REQUIRE_CUDA is set: failing/);
  });

  it('can be skipped outright', () => {
    const r = build({ KINDLING_CUDA_BUILD: '0' });
    expect(r.code).toBe(0);
    expect(r.status.reason).toBe('skipped (KINDLING_CUDA_BUILD=0)');
  });
});
