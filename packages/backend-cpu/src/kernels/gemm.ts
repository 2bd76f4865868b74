/**
 * Single-precision GEMM in plain TypeScript, organised like BLIS/GotoBLAS:
 *
 *   for each NC-wide column block of B
 *     for each KC-deep slice of K:   pack B[kc × nc] into NR-wide micro-panels (k-major)
 *       for each MC-tall row block:  pack A[mc × kc] into MR-tall micro-panels (k-major)
 *         for each micro-tile:       4×4 register-blocked micro-kernel over the packed panels
 *
 * Packing turns any operand layout (row-major, transposed, or arbitrary strides) into unit-stride
 * streams, so the micro-kernel's k-loop reads two small contiguous arrays and keeps its 16
 * accumulators in local variables (V8 keeps them in registers). Partial edge tiles are packed
 * with zeros and only the valid part is stored. Accumulation is in float64 within each KC slice.
 *
 * Measured on the development machine (Node 20, one core of an AMD EPYC): about 6 GFLOP/s at
 * 256×256×256 (see bench/matmul.mjs).
 */

const MR = 4;
// One packPanels serves both operands (B packed as Bᵀ), so the micro-tile is square.
const NR = MR;
/** Depth of a packed slice: an A micro-panel (KC·MR floats = 4 KiB) and a B micro-panel stay in L1. */
const KC = 256;
/** Rows per packed A block (MC·KC·4 B = 64 KiB, L2-resident). */
const MC = 64;
/** Columns per packed B block (KC·NC·4 B = 2 MiB). */
const NC = 2048;

// Packing scratch shared by every call (gemm is synchronous and never re-entered), allocated on
// first use so importing the backend costs nothing.
let packA: Float32Array | null = null;
let packB: Float32Array | null = null;
const edge = new Float64Array(MR * NR);

/**
 * Packs the 4-wide panels both operands are cut into, laid out [panel][k][4] with the last panel
 * zero-padded: the `len` lines starting at line `l0` (line stride `ls`), each read at depths
 * p0..p0+kc (depth stride `ks`). A's panels are row panels (lines = rows, depth = columns), B's
 * column panels (lines = columns, depth = rows): the same packing with the strides swapped, which
 * is why MR = NR and one function serves both.
 */
function packPanels(M: Float32Array, off: number, ls: number, ks: number, l0: number, p0: number, len: number, kc: number, dst: Float32Array): void {
  const panels = Math.ceil(len / MR);
  for (let ip = 0; ip < panels; ip++) {
    const lines = Math.min(MR, len - ip * MR);
    let o = ip * kc * MR;
    const base = off + (l0 + ip * MR) * ls + p0 * ks;
    if (lines === MR) {
      const l1 = ls, l2 = 2 * ls, l3 = 3 * ls;
      for (let p = 0; p < kc; p++) {
        const b = base + p * ks;
        dst[o] = M[b]!;
        dst[o + 1] = M[b + l1]!;
        dst[o + 2] = M[b + l2]!;
        dst[o + 3] = M[b + l3]!;
        o += MR;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const b = base + p * ks;
        for (let i = 0; i < MR; i++) dst[o + i] = i < lines ? M[b + i * ls]! : 0;
        o += MR;
      }
    }
  }
}

/**
 * C[4×4 tile at co] (+)= Ap-panel · Bp-panel over kc. Only the mr×nr valid corner is stored.
 * `acc` adds into C (later K slices, or a caller asking to accumulate) instead of overwriting.
 */
function microKernel(
  kc: number, Ap: Float32Array, ai: number, Bp: Float32Array, bi: number,
  C: Float32Array, co: number, rs: number, cs: number, mr: number, nr: number, acc: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = Ap[ai]!, a1 = Ap[ai + 1]!, a2 = Ap[ai + 2]!, a3 = Ap[ai + 3]!;
    const b0 = Bp[bi]!, b1 = Bp[bi + 1]!, b2 = Bp[bi + 2]!, b3 = Bp[bi + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ai += MR;
    bi += NR;
  }
  if (mr === MR && nr === NR && !acc) {
    let o = co;
    C[o] = c00; C[o + cs] = c01; C[o + 2 * cs] = c02; C[o + 3 * cs] = c03; o += rs;
    C[o] = c10; C[o + cs] = c11; C[o + 2 * cs] = c12; C[o + 3 * cs] = c13; o += rs;
    C[o] = c20; C[o + cs] = c21; C[o + 2 * cs] = c22; C[o + 3 * cs] = c23; o += rs;
    C[o] = c30; C[o + cs] = c31; C[o + 2 * cs] = c32; C[o + 3 * cs] = c33;
    return;
  }
  // Edge or accumulating tile: go through a small scratch so one loop handles every case.
  const e = edge;
  e[0] = c00; e[1] = c01; e[2] = c02; e[3] = c03;
  e[4] = c10; e[5] = c11; e[6] = c12; e[7] = c13;
  e[8] = c20; e[9] = c21; e[10] = c22; e[11] = c23;
  e[12] = c30; e[13] = c31; e[14] = c32; e[15] = c33;
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const o = co + i * rs + j * cs;
      C[o] = acc ? C[o]! + e[i * NR + j]! : e[i * NR + j]!;
    }
  }
}

/**
 * C = A·B (or C += A·B when `accumulate`), A: M×K, B: K×N, C: M×N, each given as
 * (array, offset, row stride, column stride) in elements. Any strides work; unit stride in one
 * dim only makes packing cheaper. C must not alias A or B.
 */
export function sgemm(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRs: number, aCs: number,
  B: Float32Array, bOff: number, bRs: number, bCs: number,
  C: Float32Array, cOff: number, cRs: number, cCs: number,
  accumulate: boolean,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[cOff + i * cRs + j * cCs] = 0;
    return;
  }
  const Ap = (packA ??= new Float32Array(MC * KC));
  const Bp = (packB ??= new Float32Array(KC * NC));
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    const nPanels = Math.ceil(nc / NR);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanels(B, bOff, bCs, bRs, jc, pc, nc, kc, Bp);
      const acc = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        const mPanels = Math.ceil(mc / MR);
        packPanels(A, aOff, aRs, aCs, ic, pc, mc, kc, Ap);
        for (let jp = 0; jp < nPanels; jp++) {
          const nr = Math.min(NR, nc - jp * NR);
          const cCol = cOff + (jc + jp * NR) * cCs;
          for (let ip = 0; ip < mPanels; ip++) {
            const mr = Math.min(MR, mc - ip * MR);
            microKernel(kc, Ap, ip * kc * MR, Bp, jp * kc * NR, C, cCol + (ic + ip * MR) * cRs, cRs, cCs, mr, nr, acc);
          }
        }
      }
    }
  }
}

/** Int32 GEMM with wrap-around arithmetic (PyTorch's integer matmul wraps too); a plain i-k-j loop. */
export function igemm(
  M: number, N: number, K: number,
  A: Int32Array | Uint8Array, aOff: number, aRs: number, aCs: number,
  B: Int32Array | Uint8Array, bOff: number, bRs: number, bCs: number,
  C: Int32Array, cOff: number, cRs: number, cCs: number,
): void {
  const row = new Int32Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let p = 0; p < K; p++) {
      const a = A[aOff + i * aRs + p * aCs]!;
      if (a === 0) continue;
      const bb = bOff + p * bRs;
      for (let j = 0; j < N; j++) row[j] = (row[j]! + Math.imul(a, B[bb + j * bCs]!)) | 0;
    }
    for (let j = 0; j < N; j++) C[cOff + i * cRs + j * cCs] = row[j]!;
  }
}
