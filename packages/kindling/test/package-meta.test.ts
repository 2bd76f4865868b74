import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/package-meta.mjs', import.meta.url));

describe('package metadata', () => {
  it('every published package carries the root metadata, keywords, a prepack and no tsbuildinfo (package-meta --check)', () => {
    let out = '';
    try {
      execFileSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      out = `${(e as { stderr?: string }).stderr ?? e}`;
    }
    expect(out).toBe('');
  });
});
