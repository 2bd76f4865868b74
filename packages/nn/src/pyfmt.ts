/**
 * Python-style formatting, so `toString()` prints a module exactly as PyTorch's `repr` does
 * (`eps=1e-05`, `kernel_size=(5, 5)`, `bias=True`, `momentum=None`).
 */

/** A value as it appears in an extra_repr: numbers, booleans, null, strings and tuples of them. */
export type PyValue = number | boolean | null | string | readonly PyValue[];

/**
 * Python's repr of a float: the shortest round-trip digits (as JS), but fixed notation only for
 * decimal exponents -4 ≤ e < 16, else `1e-05` / `1e+16` with at least two exponent digits; an
 * integral value keeps its `.0`.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, '0');
      const frac = digits.length > exp + 1 ? digits.slice(exp + 1) : '0';
      body = `${intPart}.${frac}`;
    } else {
      body = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    body = `${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  return neg ? `-${body}` : body;
}

/** Python's repr of an int, bool, None, str or tuple. Numbers print as ints when integral. */
export function pyRepr(v: PyValue, opts: { float?: boolean } = {}): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return opts.float || !Number.isInteger(v) ? pyFloat(v) : String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v.length === 1) return `(${pyRepr(v[0]!, opts)},)`;
  return `(${v.map((e) => pyRepr(e, opts)).join(', ')})`;
}

/** Python's str() of a value in a format string: like repr, but strings print bare. */
export function pyStr(v: PyValue, opts: { float?: boolean } = {}): string {
  return typeof v === 'string' ? v : pyRepr(v, opts);
}

/** `torch.Size([1, 6, 24, 24])`, as `print(x.shape)` shows a shape. */
export function torchSize(shape: readonly number[]): string {
  return `torch.Size([${shape.join(', ')}])`;
}

/** PyTorch's _addindent: indents every line but the first by `n` spaces. */
export function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const first = lines.shift()!;
  return `${first}\n${lines.map((l) => ' '.repeat(n) + l).join('\n')}`;
}
