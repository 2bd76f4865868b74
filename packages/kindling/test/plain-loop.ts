/**
 * The bounded-memory check for a loop written as in PyTorch (nothing disposed, readbacks through
 * .cpu()), shared by memory.test.ts (every device) and backend-cuda's cuda-ops.test.ts so both
 * judge a loop by the same rule.
 *
 * One step measures what a step leaves live (it must be over `minPerStep` bytes, or the loop
 * could not show a leak); then enough steps run that a loop leaking every step would hold
 * `leakFactor` times the bound, and the highest live count is returned with the bound. What may
 * be live is what the collector has not found yet: storage of every device is reported to V8
 * (through the cpu addon), which collects after 64 MiB of growth, so the bound is 128 MiB plus
 * `slackSteps` steps, room for incremental marking (docs/memory.md).
 */
export interface PlainLoopResult {
  perStep: number;
  steps: number;
  peak: number;
  bound: number;
}

export async function plainLoopPeak(
  step: () => Promise<unknown>, live: () => number,
  o: { minPerStep: number; slackSteps: number; leakFactor: number },
): Promise<PlainLoopResult> {
  const base = live();
  await step();
  const perStep = live() - base;
  if (!(perStep > o.minPerStep)) throw new Error(`plainLoopPeak: one step left ${perStep} bytes live, expected more than ${o.minPerStep}`);
  const bound = 128 * 2 ** 20 + o.slackSteps * perStep;
  const steps = Math.ceil((o.leakFactor * bound) / perStep);
  let peak = 0;
  for (let i = 0; i < steps; i++) {
    await step();
    peak = Math.max(peak, live() - base);
  }
  return { perStep, steps, peak, bound };
}
