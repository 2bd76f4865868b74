/**
 * Runs every `ts` block of docs/d2l-chapter5.md and compares what it prints with the block after
 * it: `text` exactly, `console` line by line with any number standing for each number (timings
 * and accuracies vary). The snippets are written as they stand into a temporary folder inside
 * apps/trainer, so `kindling` and `@kindling/*` resolve as for the trainer; `@kindling/trainer`
 * is pointed at this package's sources, which is what it is.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';

const DOC = fileURLToPath(new URL('../../../docs/d2l-chapter5.md', import.meta.url));
const TRAINER = fileURLToPath(new URL('..', import.meta.url));
const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));
const hasData = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

interface Snippet {
  line: number;
  code: string;
  output: { kind: 'text' | 'console'; body: string } | null;
}

function snippets(md: string): Snippet[] {
  const out: Snippet[] = [];
  const re = /^```ts\n([\s\S]*?)^```\n(?:\n```(text|console)\n([\s\S]*?)^```\n)?/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    out.push({
      line: md.slice(0, m.index).split('\n').length,
      code: m[1]!,
      output: m[2] ? { kind: m[2] as 'text' | 'console', body: m[3]! } : null,
    });
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A sample line as a pattern: every number may be any number. */
const shape = (line: string) => new RegExp(`^${line.split(/\d+(?:\.\d+)?/).map(escape).join('\\d+(?:\\.\\d+)?')}$`);

const dir = mkdtempSync(join(TRAINER, '.docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/d2l-chapter5.md', () => {
  const all = snippets(readFileSync(DOC, 'utf8'));

  it('has its snippets, each followed by what it prints', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const s of all) expect(s.output, `snippet at line ${s.line}`).not.toBeNull();
  });

  for (const [i, s] of all.entries()) {
    const needsData = s.code.includes('loadDataFashionMnist');
    it.skipIf(needsData && !hasData)(`the snippet at line ${s.line} prints what the page shows`, async () => {
      const file = join(dir, `snippet-${i}.ts`);
      writeFileSync(file, s.code.replaceAll("from '@kindling/trainer'", `from ${JSON.stringify(INDEX)}`));
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        lines.push(...format(...args).split('\n'));
      });
      try {
        await import(pathToFileURL(file).href);
      } finally {
        spy.mockRestore();
      }
      const want = s.output!.body.replace(/\n$/, '').split('\n');
      if (s.output!.kind === 'text') expect(lines.join('\n')).toBe(want.join('\n'));
      else {
        expect(lines.length, lines.join('\n')).toBe(want.length);
        want.forEach((w, k) => expect(lines[k], `line ${k + 1}`).toMatch(shape(w)));
      }
    }, needsData ? 300_000 : undefined); // a training epoch: seconds on a free machine, minutes on a busy one
  }
});
