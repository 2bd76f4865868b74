/**
 * The CUDA platform package's binary as npm users get it: the CUDA runtime linked in (no
 * libcudart at run time), cuBLAS and cuDNN not linked (the addon loads them when present), SASS for
 * every architecture the README lists plus PTX for newer GPUs. Skipped, with the reason, when the
 * build did not run here (no nvcc).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { platformBinary } from '../../backend-cpu-linux-x64-gnu/test/platform-binary.js';

const { binary, skip } = platformBinary(new URL('..', import.meta.url), 'kindling_cuda.node');
const cuobjdump = ['/usr/local/cuda/bin/cuobjdump'].find((p) => existsSync(p));

describe('@kindling/backend-cuda-linux-x64-gnu binary', () => {
  it.skipIf(!!skip)(`links no CUDA library dynamically${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
    expect(ldd).not.toMatch(/libcudart|libcublas|libcudnn|libcuda\.so|not found/);
  });

  it.skipIf(!!skip || !cuobjdump)(`carries SASS for sm_75–sm_90 and PTX for sm_90${skip ? ` (skipped: ${skip})` : !cuobjdump ? ' (skipped: no cuobjdump)' : ''}`, () => {
    const elf = execFileSync(cuobjdump!, ['--list-elf', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const ptx = execFileSync(cuobjdump!, ['--list-ptx', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const archs = (text: string): string[] => [...new Set([...text.matchAll(/\.sm_(\d+)\./g)].map((m) => m[1]!))].sort();
    expect(archs(elf)).toEqual(['75', '80', '86', '89', '90']);
    expect(archs(ptx)).toEqual(['90']);
  });
});
