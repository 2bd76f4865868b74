import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('à la carte install', () => {
  it('core + autograd + backend-cpu tarballs install outside the workspace and compute a gradient', () => {
    const script = fileURLToPath(new URL('../../../scripts/pack-smoke.sh', import.meta.url));
    const out = execFileSync('bash', [script], { encoding: 'utf8' });
    expect(out).toContain('pack-smoke: grad [2,4,6,8], conv 5');
  });
});
