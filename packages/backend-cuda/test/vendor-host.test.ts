/**
 * cuBLAS and cuDNN are loaded at run time from declarations of our own (native/src/cublas_loader.h,
 * native/src/cudnn_api.h), since the machines that build the addon have neither. A mistake there
 * would only show on a GPU host, so this test checks them here wherever the real libraries can be
 * found, no GPU needed:
 *  - test/native/cudnn_host_check.cc is compiled against cuDNN's headers (every declaration checked
 *    at compile time, see abi_check.h) and run against its library (every entry point resolved;
 *    descriptors built by describe() read back as meant; a handle refused readably without a GPU);
 *  - test/native/cublas_host_check.cc is compiled against cublas_v2.h, and every entry point it
 *    names must be among libcublas's exported symbols (nm; loading it would need 540 MB of cublasLt).
 *
 * Each library is looked for in $KINDLING_CUDNN_ROOT / $KINDLING_CUBLAS_ROOT (a folder with include/
 * and lib/), then in an nvidia wheel ($KINDLING_CUDNN_WHEEL / $KINDLING_CUBLAS_WHEEL, or one in
 * /opt/pypi-more/files) unpacked into build/. Without one, or without g++ and the CUDA headers, its
 * check is skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const cudaInclude = '/usr/local/cuda/include';
/** core's kindling_flags.h, which the addon's sources read their switches through (as CMakeLists.txt includes it). */
const coreNative = fileURLToPath(new URL('../../core/native', import.meta.url));
const wheelDir = '/opt/pypi-more/files';

interface Vendor {
  name: string;
  env: string;
  header: string;
  wheel: RegExp;
  /** Wheel members to unpack: the headers and the libraries the check needs. */
  members: RegExp;
  /** A file that exists once unpacked, in the wheel's folder of include/ and lib/ (the first of folders that has it). */
  marker: string;
  folders: string[];
}

/** A folder with the library's include/ and lib/, or why there is none. */
function find(v: Vendor): { root: string } | { skip: string } {
  const root = process.env[`${v.env}_ROOT`];
  if (root) return existsSync(join(root, 'include', v.header)) ? { root } : { skip: `${v.env}_ROOT=${root} has no include/${v.header}` };
  const wheel = process.env[`${v.env}_WHEEL`] ?? (existsSync(wheelDir) ? readdirSync(wheelDir).find((f) => v.wheel.test(f)) : undefined);
  if (!wheel) return { skip: `no ${v.name} found (set ${v.env}_ROOT, or ${v.env}_WHEEL to an nvidia wheel)` };
  const wheelPath = wheel.includes('/') ? wheel : join(wheelDir, wheel);
  const out = join(pkgDir, 'build', `${v.name.toLowerCase()}-host`);
  const unpacked = (): string | undefined => v.folders.map((f) => join(out, f)).find((d) => existsSync(join(d, v.marker)));
  if (!unpacked()) {
    mkdirSync(out, { recursive: true });
    const script = [
      'import re, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'for n in z.namelist():',
      '    if re.search(sys.argv[3], n): z.extract(n, sys.argv[2])',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, wheelPath, out, v.members.source], { encoding: 'utf8' });
    if (r.status !== 0) return { skip: `cannot unpack ${wheelPath}: ${r.error?.message ?? r.stderr}` };
  }
  const dir = unpacked();
  return dir ? { root: dir } : { skip: `${wheelPath} has no ${v.marker} under ${v.folders.join(' or ')}` };
}

const tools = spawnSync('g++', ['--version']).status === 0 && existsSync(join(cudaInclude, 'cuda_runtime_api.h'));
function prepare(v: Vendor): { root: string; skip: null } | { root: null; skip: string } {
  const f = find(v);
  const skip = 'skip' in f ? f.skip : tools ? null : `g++ or ${cudaInclude}/cuda_runtime_api.h is missing`;
  if (skip) console.warn(`[@kindling/backend-cuda] ${v.name} host check skipped: ${skip}`);
  return skip ? { root: null, skip } : { root: (f as { root: string }).root, skip: null };
}

function compile(exe: string, includes: string[], sources: string[]): void {
  const cc = spawnSync(
    'g++',
    ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-deprecated-declarations', ...includes.map((i) => `-I${i}`), `-I${cudaInclude}`,
      `-I${join(pkgDir, 'native', 'src')}`, `-I${coreNative}`, ...sources, '-ldl', '-o', exe],
    { encoding: 'utf8' },
  );
  expect(cc.status, cc.stderr).toBe(0);
}

const cudnn = prepare({
  name: 'cuDNN', env: 'KINDLING_CUDNN', header: 'cudnn.h', wheel: /^nvidia_cudnn_cu\d+-.*\.whl$/,
  // the headers and the four libraries that descriptor calls load (not the 900 MB of engines)
  members: /^nvidia\/cudnn\/(include\/|lib\/libcudnn(_graph|_ops|_cnn)?\.so\.9$)/,
  marker: join('lib', 'libcudnn_cnn.so.9'), folders: [join('nvidia', 'cudnn')],
});
const cublas = prepare({
  name: 'cuBLAS', env: 'KINDLING_CUBLAS', header: 'cublas_v2.h', wheel: /^nvidia_cublas(_cu\d+)?-.*\.whl$/,
  members: /^nvidia\/(cu\d+|cublas)\/(include\/cublas|lib\/libcublas\.so\.\d+$)/,
  // CUDA 13 wheels keep cuBLAS in nvidia/cu13, older ones in nvidia/cublas
  marker: join('include', 'cublas_v2.h'), folders: [join('nvidia', 'cu13'), join('nvidia', 'cublas')],
});

describe('cuBLAS declarations against a real cuBLAS (no GPU needed)', () => {
  it.skipIf(cublas.skip !== null)('compile against cublas_v2.h, and find every entry point among the library\'s symbols', () => {
    const root = cublas.root!;
    const exe = join(pkgDir, 'build', 'cublas-host-check');
    compile(exe, [join(root, 'include')], [join(pkgDir, 'test', 'native', 'cublas_host_check.cc')]);
    const names = spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(names.length).toBeGreaterThanOrEqual(5);
    const lib = readdirSync(join(root, 'lib')).find((f) => /^libcublas\.so\.\d+$/.test(f))!;
    const nm = spawnSync('nm', ['-D', '--defined-only', join(root, 'lib', lib)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(nm.status, nm.stderr).toBe(0);
    const exported = new Set(nm.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()!.replace(/@.*$/, '')));
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
  }, 60_000);
});

describe('cuDNN declarations against a real cuDNN (no GPU needed)', () => {
  it.skipIf(cudnn.skip !== null)('compile against cudnn.h, load every entry point, and build descriptors cuDNN reads back', () => {
    const root = cudnn.root!;
    const exe = join(pkgDir, 'build', 'cudnn-host-check');
    compile(exe, [join(root, 'include')], ['test/native/cudnn_host_check.cc', 'native/src/cudnn_api.cc', 'native/src/dynlib.cc'].map((f) => join(pkgDir, f)));
    const gpu = existsSync('/proc/driver/nvidia/version');
    const run = spawnSync(exe, [join(root, 'lib', 'libcudnn.so.9'), gpu ? 'gpu' : 'no-gpu'], { encoding: 'utf8' });
    console.log(run.stdout.split('\n').filter((l) => /^status|FAIL|refused|cudnnCreate|failed/.test(l)).join('\n'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^status: cuDNN \d+\.\d+ /m);
    expect(run.stdout).toMatch(/^0 failed$/m);
  }, 60_000);
});

// The workspace builds the addon once, into the platform package (its `build` script).
const addon = join(pkgDir, '..', 'backend-cuda-linux-x64-gnu', 'kindling_cuda.node');
if (!existsSync(addon)) console.warn('[@kindling/backend-cuda] cuDNN status checks skipped: the addon was not built here');

describe("the addon's word on its libraries (probe().matmul, probe().conv), each in a fresh process", () => {
  const probe = (env: Record<string, string>): { matmul: string; conv: string } => {
    const r = spawnSync(process.execPath, ['-e', `const p = require(${JSON.stringify(addon)}).probe(); console.log(JSON.stringify({ matmul: p.matmul, conv: p.conv }))`], {
      encoding: 'utf8',
      env: { ...process.env, KINDLING_CUDNN_LIBRARY: '', KINDLING_CUDA_CUDNN: '', KINDLING_CUBLAS_LIBRARY: '', KINDLING_CUDA_CUBLAS: '', ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { matmul: string; conv: string };
  };
  it.skipIf(!existsSync(addon))('says why our kernels run when a library is switched off or the named one cannot load', () => {
    expect(probe({ KINDLING_CUDA_CUDNN: '0' }).conv).toBe('own im2col kernels (cuDNN disabled by KINDLING_CUDA_CUDNN=0)');
    expect(probe({ KINDLING_CUDNN_LIBRARY: '/nonexistent/libcudnn.so.9' }).conv).toMatch(
      /^own im2col kernels \(cannot load \/nonexistent\/libcudnn\.so\.9: .*No such file/,
    );
    expect(probe({ KINDLING_CUDA_CUBLAS: 'off' }).matmul).toBe('own tiled kernels (cuBLAS disabled by KINDLING_CUDA_CUBLAS=0)');
    expect(probe({ KINDLING_CUBLAS_LIBRARY: '/nonexistent/libcublas.so.13' }).matmul).toMatch(
      /^own tiled kernels \(cannot load \/nonexistent\/libcublas\.so\.13: .*No such file/,
    );
  });
  it.skipIf(!existsSync(addon) || cudnn.skip !== null)('names the cuDNN it loaded', () => {
    const lib = join(cudnn.root!, 'lib', 'libcudnn.so.9');
    const text = probe({ KINDLING_CUDNN_LIBRARY: lib }).conv;
    expect(text.startsWith('cuDNN ') && text.endsWith(` (${lib}, loaded at run time)`), text).toBe(true);
    expect(text).toMatch(/^cuDNN (8|9)\.\d+ /);
  });
});
