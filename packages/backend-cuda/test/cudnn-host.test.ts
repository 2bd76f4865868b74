/**
 * cuDNN is loaded at run time from declarations of our own (native/src/cudnn_api.h), since the
 * machines that build the addon have no cuDNN. A mistake there would only show on a GPU host, so
 * this test checks them here wherever a real cuDNN can be found, no GPU needed:
 * test/native/cudnn_host_check.cc is compiled against cuDNN's headers (every declaration checked at
 * compile time) and run against its library (every entry point resolved; descriptors built by
 * describe() read back as meant; a handle refused with a readable error when there is no GPU).
 *
 * cuDNN is looked for in $KINDLING_CUDNN_ROOT (a folder with include/ and lib/), then in an
 * nvidia-cudnn wheel ($KINDLING_CUDNN_WHEEL, or one in /opt/pypi-more/files), unpacked into build/.
 * Without one, or without g++ and the CUDA headers, the test is skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const cudaInclude = '/usr/local/cuda/include';

/** A folder with cuDNN's include/ and lib/, or why there is none. */
function findCudnn(): { root: string } | { skip: string } {
  const root = process.env.KINDLING_CUDNN_ROOT;
  if (root) return existsSync(join(root, 'include', 'cudnn.h')) ? { root } : { skip: `KINDLING_CUDNN_ROOT=${root} has no include/cudnn.h` };
  const wheelDir = '/opt/pypi-more/files';
  const wheel =
    process.env.KINDLING_CUDNN_WHEEL ??
    (existsSync(wheelDir) ? readdirSync(wheelDir).find((f) => /^nvidia_cudnn_cu\d+-.*\.whl$/.test(f)) : undefined);
  if (!wheel) return { skip: 'no cuDNN found (set KINDLING_CUDNN_ROOT, or KINDLING_CUDNN_WHEEL to an nvidia-cudnn wheel)' };
  const wheelPath = wheel.includes('/') ? wheel : join(wheelDir, wheel);
  const out = join(pkgDir, 'build', 'cudnn-host');
  const unpacked = join(out, 'nvidia', 'cudnn');
  if (!existsSync(join(unpacked, 'lib', 'libcudnn_cnn.so.9'))) {
    mkdirSync(out, { recursive: true });
    // Only the headers and the four libraries that descriptor calls load (not the 900 MB of engines).
    const script = [
      'import sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'want = ("libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9")',
      'for n in z.namelist():',
      '    if n.startswith("nvidia/cudnn/include/") or n.rsplit("/", 1)[-1] in want: z.extract(n, sys.argv[2])',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, wheelPath, out], { encoding: 'utf8' });
    if (r.status !== 0) return { skip: `cannot unpack ${wheelPath}: ${r.error?.message ?? r.stderr}` };
  }
  return { root: unpacked };
}

const found = findCudnn();
const tools = spawnSync('g++', ['--version']).status === 0 && existsSync(join(cudaInclude, 'cuda_runtime_api.h'));
const skip = 'skip' in found ? found.skip : tools ? null : `g++ or ${cudaInclude}/cuda_runtime_api.h is missing`;
if (skip) console.warn(`[@kindling/backend-cuda] cuDNN host check skipped: ${skip}`);

describe('cuDNN declarations against a real cuDNN (no GPU needed)', () => {
  it.skipIf(skip !== null)('compile against cudnn.h, load every entry point, and build descriptors cuDNN reads back', () => {
    const root = (found as { root: string }).root;
    const exe = join(pkgDir, 'build', 'cudnn-host-check');
    const cc = spawnSync(
      'g++',
      ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-deprecated-declarations', `-I${join(root, 'include')}`, `-I${cudaInclude}`,
        `-I${join(pkgDir, 'native', 'src')}`, join(pkgDir, 'test', 'native', 'cudnn_host_check.cc'),
        join(pkgDir, 'native', 'src', 'cudnn_api.cc'), '-ldl', '-o', exe],
      { encoding: 'utf8' },
    );
    expect(cc.status, cc.stderr).toBe(0);
    const gpu = existsSync('/proc/driver/nvidia/version');
    const run = spawnSync(exe, [join(root, 'lib', 'libcudnn.so.9'), gpu ? 'gpu' : 'no-gpu'], { encoding: 'utf8' });
    console.log(run.stdout.split('\n').filter((l) => /^status|FAIL|refused|cudnnCreate|failed/.test(l)).join('\n'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^status: cuDNN \d+\.\d+ /m);
    expect(run.stdout).toMatch(/^0 failed$/m);
  }, 60_000);
});

const addon = join(pkgDir, 'build', 'Release', 'kindling_cuda.node');
if (!existsSync(addon)) console.warn('[@kindling/backend-cuda] cuDNN status checks skipped: the addon was not built here');

describe("the addon's word on cuDNN (probe().conv), each in a fresh process", () => {
  const probe = (env: Record<string, string>): string => {
    const r = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).probe().conv)`], {
      encoding: 'utf8',
      env: { ...process.env, KINDLING_CUDNN_LIBRARY: '', KINDLING_CUDA_CUDNN: '', ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  it.skipIf(!existsSync(addon))('says why our kernels run when cuDNN is switched off or the named library cannot load', () => {
    expect(probe({ KINDLING_CUDA_CUDNN: '0' })).toBe('own im2col kernels (cuDNN disabled by KINDLING_CUDA_CUDNN=0)');
    expect(probe({ KINDLING_CUDNN_LIBRARY: '/nonexistent/libcudnn.so.9' })).toMatch(
      /^own im2col kernels \(cannot load \/nonexistent\/libcudnn\.so\.9: .*No such file/,
    );
  });
  it.skipIf(!existsSync(addon) || skip !== null)('names the cuDNN it loaded', () => {
    const lib = join((found as { root: string }).root, 'lib', 'libcudnn.so.9');
    const text = probe({ KINDLING_CUDNN_LIBRARY: lib });
    expect(text.startsWith('cuDNN ') && text.endsWith(` (${lib}, loaded at run time)`), text).toBe(true);
    expect(text).toMatch(/^cuDNN (8|9)\.\d+ /);
  });
});
