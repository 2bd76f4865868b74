/** The printed table: one block per workload, Kindling's ratio to every anchor that ran. */
import { fmtBytes, fmtRate } from './stats.js';
import type { Result } from './run.js';
import { WORKLOADS, type WorkloadId } from './workloads.js';

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export function formatTable(results: readonly Result[]): string {
  const out: string[] = [];
  const workloads = [...new Set(results.map((r) => r.workload))] as WorkloadId[];
  for (const id of workloads) {
    const rows = results.filter((r) => r.workload === id);
    const w = WORKLOADS[id];
    const anchors = rows.filter((r) => !r.isKindling && r.summary);
    out.push('', `${w.title} — ${w.unit}, median over recorded steps (min–max), peak RSS of the contender's process`);
    const head = [pad('', 22), pad(w.unit, 10, true), pad('min–max', 22, true), pad('steps', 6, true), pad('peak RSS', 10, true),
      ...anchors.map((a) => pad(`× ${a.label}`, 14, true))];
    out.push(head.join(' '));
    const notes: string[] = [];
    for (const r of rows) {
      if (!r.summary) {
        out.push(`${pad(r.label, 22)} ${pad('–', 10, true)}   ${r.reason ?? 'no data'}`);
        continue;
      }
      const s = r.summary;
      const ratios = anchors.map((a) => pad(r.isKindling ? `${(s.median / a.summary!.median).toFixed(2)}×` : '', 14, true));
      out.push([pad(r.label, 22), pad(fmtRate(s.median), 10, true), pad(`${fmtRate(s.min)}–${fmtRate(s.max)}`, 22, true),
        pad(String(s.n), 6, true), pad(fmtBytes(r.maxRss ?? 0), 10, true), ...ratios].join(' '));
      if (r.extra?.peakLiveBytes !== undefined) notes.push(`${r.label}: peak live tensor bytes ${fmtBytes(r.extra.peakLiveBytes)} (memory().numBytes after each step)`);
      if (r.extra?.decodeSeconds !== undefined) notes.push(`${r.label}: decoding the training set took ${r.extra.decodeSeconds.toFixed(3)} s`);
    }
    // The WebGPU adapter each webgpu contender ran on (one line when they share it).
    const adapters = new Map<string, string[]>();
    for (const r of rows) if (r.adapter) adapters.set(r.adapter, [...(adapters.get(r.adapter) ?? []), r.label]);
    for (const [adapter, labels] of adapters) notes.push(`WebGPU adapter of ${labels.join(' and ')}: ${adapter}`);
    // Decoding the training set (the epoch workload): Kindling's speed relative to each anchor's.
    for (const k of rows.filter((r) => r.isKindling && r.extra?.decodeSeconds !== undefined)) {
      for (const a of rows.filter((r) => !r.isKindling && r.extra?.decodeSeconds !== undefined)) {
        notes.push(`decoding: ${k.label} is ${(a.extra!.decodeSeconds! / k.extra!.decodeSeconds!).toFixed(2)}× as fast as ${a.label}`);
      }
    }
    for (const n of notes) out.push(`  ${n}`);
  }
  return out.join('\n');
}
