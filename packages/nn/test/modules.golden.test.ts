/**
 * modules.json (module_traversal): traversal orders, dotted names, types, reprs, printed loops,
 * state_dict entries (int64 in the golden = int32 in Kindling) and parameter counts, all equal to
 * PyTorch's, for models built with buildFromSpec.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { buildFromSpec, type Module } from '@kindling/nn';
import { goldenAvailable, kindlingDType, loadGolden } from './golden.js';
import { MODEL_PRINTERS } from './printed.js';

const available = goldenAvailable('modules.json');
if (!available) console.warn('modules.json golden file not found: skipping');
const cases = available ? loadGolden('modules.json') : [];

const typeRepr = (m: Module) => ({ type: m._getName(), repr: String(m) });

describe.skipIf(!available)('modules.json golden', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    describe(c.name, () => {
      const e = c.expected!;
      const model = buildFromSpec(c.attrs.architecture);

      it('repr', () => expect(String(model)).toBe(e.repr));
      it('modules / named_modules', () => {
        expect(model.modules().map(typeRepr)).toEqual(e.modules);
        expect(model.namedModules().map(([name, m]) => ({ name, ...typeRepr(m) }))).toEqual(e.named_modules);
      });
      it('children / named_children', () => {
        expect(model.children().map(typeRepr)).toEqual(e.children);
        expect(model.namedChildren().map(([name, m]) => ({ name, ...typeRepr(m) }))).toEqual(e.named_children);
      });
      it('named_parameters and num_parameters', () => {
        expect(model.namedParameters().map(([name, p]) => ({ name, shape: [...p.shape] }))).toEqual(e.named_parameters);
        expect(model.parameters().reduce((a, p) => a + p.size, 0)).toBe(e.num_parameters);
        for (const p of model.parameters()) {
          expect(p.dtype).toBe('float32');
          expect(p.requiresGrad).toBe(true);
        }
      });
      it('named_buffers and state_dict (names, shapes, dtypes)', () => {
        const entry = (name: string, t: { shape: readonly number[]; dtype: string }) => ({ name, shape: [...t.shape], dtype: t.dtype });
        const mapDtypes = (list: { name: string; shape: number[]; dtype: string }[]) => list.map((x) => ({ ...x, dtype: kindlingDType(x.dtype) }));
        expect(model.namedBuffers().map(([n, b]) => entry(n, b))).toEqual(mapDtypes(e.named_buffers));
        expect([...model.stateDict()].map(([n, t]) => entry(n, t))).toEqual(mapDtypes(e.state_dict));
      });
      it('printed loops (stdout character for character)', () => {
        for (const p of e.printed as { code: string; stdout: string }[]) {
          const printer = MODEL_PRINTERS[p.code];
          expect(printer, `no TypeScript mirror for:\n${p.code}`).toBeDefined();
          expect(printer!(model), p.code).toBe(p.stdout);
        }
      });
    });
  }
});
