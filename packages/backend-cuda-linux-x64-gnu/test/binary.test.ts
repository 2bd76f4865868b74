/**
 * The CUDA platform package's binary as npm users get it: the CUDA runtime linked in (no
 * libcudart at run time), cuBLAS and cuDNN not linked (the addon loads them when present), SASS for
 * every architecture the README lists plus PTX for newer GPUs. Skipped, with the reason, when the
 * build did not run here (no nvcc).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { platformBinary } from '../../backend-cpu-linux-x64-gnu/test/platform-binary.js';

const { binary, skip } = platformBinary(new URL('..', import.meta.url), 'kindling_cuda.node');

/**
 * The (kind, arch) pairs of every CUDA fat binary embedded in the file: kind 1 is PTX, 2 is SASS
 * (a cubin ELF). No cuobjdump here (this toolkit has none), so the container is read directly: a
 * fat binary starts with the magic 0xBA55ED50, a u16 version, a u16 header size and a u64 size of
 * its entries; each entry starts with a u16 kind, a u16, a u32 header size and a u64 payload size,
 * and holds the SM number as a u32 at byte 28.
 */
function fatbinEntries(file: string): Set<string> {
  const d = readFileSync(file);
  const out = new Set<string>();
  for (let i = d.indexOf(Buffer.from([0x50, 0xed, 0x55, 0xba])); i >= 0; i = d.indexOf(Buffer.from([0x50, 0xed, 0x55, 0xba]), i + 4)) {
    const end = i + d.readUInt16LE(i + 6) + Number(d.readBigUInt64LE(i + 8));
    for (let j = i + d.readUInt16LE(i + 6); j < end && j + 32 <= d.length; j += d.readUInt32LE(j + 4) + Number(d.readBigUInt64LE(j + 8))) {
      out.add(`${d.readUInt16LE(j) === 1 ? 'ptx' : 'sass'} sm_${d.readUInt32LE(j + 28)}`);
    }
  }
  return out;
}

describe('@kindling/backend-cuda-linux-x64-gnu binary', () => {
  it.skipIf(!!skip)(`links no CUDA library dynamically${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
    expect(ldd).not.toMatch(/libcudart|libcublas|libcudnn|libcuda\.so|not found/);
  });

  it.skipIf(!!skip)(`carries SASS for sm_75–sm_90 and PTX for sm_90${skip ? ` (skipped: ${skip})` : ''}`, () => {
    expect([...fatbinEntries(binary)].sort()).toEqual(['ptx sm_90', 'sass sm_75', 'sass sm_80', 'sass sm_86', 'sass sm_89', 'sass sm_90']);
  });
});
